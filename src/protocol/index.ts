export * from './messages.js';
export * from './frames.js';
export * from './position.js';
