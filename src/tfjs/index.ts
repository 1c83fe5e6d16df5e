// Public names of src/tfjs: backend selection, model/optimizer state capture and restore, trainer resolution.
export * from './backend.js';
export * from './state.js';
export * from '../trainers.js';
export * from './callbacks/index.js';
export { loadModel, fileSystemModel, type LoadModelOptions } from './load-model.js';
