// Views over the one read model (src/projections/catalog.ts): the same answers for `ckpt <view> --json` and the
// server's /api/<view>. Refs resolve with the one resolver, src/store/refs.ts.
export * from '../projections/catalog.js';
export * from '../projections/log-entry.js';
export { itemsOf, type AppendOnly } from '../projections/append-only.js';
export * from '../store/refs.js';
export * from './checkpoints.js';
export * from './why.js';
export * from './history.js';
export * from './summary.js';
export * from './decisions.js';
export * from './diff.js';
export * from './trail.js';
export * from './read.js';
