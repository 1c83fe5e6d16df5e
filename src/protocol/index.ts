export * from './messages.js';
export * from './frames.js';
