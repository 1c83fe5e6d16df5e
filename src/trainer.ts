/**
 * `ckpt/trainer`: the TypeScript trainer SDK (src/sdk/), for the built-in trainers and for trainers that live in
 * your own project. Importing it first makes stdout carry protocol frames only (everything printed goes to stderr).
 * tfjs trainers also import `ckpt/trainer/tfjs` (backend selection, model + optimizer state capture/restore).
 *
 * @example
 *   // my-trainer.mjs — run with: npx ckpt train --trainer ./my-trainer.mjs
 *   import { runTrainer } from 'ckpt/trainer';
 *   await runTrainer({ name: 'my-trainer', version: '1.0.0', backend: 'cpu' }, { setup, train, capture, restore });
 */
import './sdk/stdout-guard.js';

export { runTrainer, DEFAULT_KEEP_EPOCH_STATES, DEFAULT_MAX_HELD } from './sdk/run-trainer.js';
export type { TrainerContext, TrainerHandlers, TrainerInfo, TrainerStart } from './sdk/run-trainer.js';
export { weightsDigest } from './store/digest.js';
export type { CaptureBuffer, CheckpointState, DType, HistoryEntry, ObjectState, OptimizerState, TensorData, TrainerState } from './checkpoint.js';
export type { Evaluate, Start, TrainConfig, TrainerCapability } from './protocol/messages.js';
export type { Metrics } from './events.js';
