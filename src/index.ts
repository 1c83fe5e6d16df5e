// Public API of ckpt. Each area re-exports its own names through its index.
export * from './events.js';
export * from './checkpoint.js';
export * from './errors.js';
export * from './policy/index.js';
export * from './store/index.js';
export * from './protocol/index.js';
export * from './run/index.js';
export * from './tfjs/index.js';
export * from './views/index.js';
export * from './server/index.js';
