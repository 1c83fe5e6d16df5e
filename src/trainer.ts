/**
 * `ckpt/trainer`: the TypeScript trainer SDK as a package export, for trainers that live in your own project.
 * Importing it first makes stdout carry protocol frames only (everything printed goes to stderr).
 *
 * @example
 *   // my-trainer.mjs — run with: npx ckpt train --trainer ./my-trainer.mjs
 *   import { runTrainer } from 'ckpt/trainer';
 *   await runTrainer({ name: 'my-trainer', version: '1.0.0', backend: 'cpu' }, { setup, train, capture, restore });
 */
import '../trainers/lib/stdout-guard.js';

export { runTrainer, DEFAULT_KEEP_EPOCH_STATES } from '../trainers/sdk.js';
export type { TrainerContext, TrainerHandlers, TrainerInfo } from '../trainers/sdk.js';
export type { CheckpointState, DType, HistoryEntry, ObjectState, OptimizerState, TensorData, TrainerState } from './checkpoint.js';
export type { Evaluate, Start, TrainConfig } from './protocol/messages.js';
export type { Metrics } from './events.js';
