// Read models over the ledger: the same answers for `ckpt <view> --json` and the server's /api/<view>.
export * from './types.js';
export * from './projection.js';
export * from './log-entry.js';
export * from './mode.js';
export * from './refs.js';
export * from './checkpoints.js';
export * from './why.js';
export * from './history.js';
export * from './summary.js';
export * from './decisions.js';
export * from './diff.js';
export * from './read.js';
