// In-process callbacks for tfjs `model.fit` that write to a ckpt directory (ledger + store), with Keras names.
export { ModelCheckpoint, type ModelCheckpointArgs } from './model-checkpoint.js';
export { EarlyStopping, type EarlyStoppingArgs } from './early-stopping.js';
export { BackupAndRestore, type BackupAndRestoreArgs } from './backup-and-restore.js';
export { TerminateOnNaN, type TerminateOnNaNArgs } from './terminate-on-nan.js';
export { renderFilepath } from './filepath.js';
export type { RecordedDecision, StepOutcome } from './participant.js';
