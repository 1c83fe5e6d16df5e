// Public names of src/run: the supervisor (`train`), its protocol host and building blocks.
export { train, type TrainOptions, type TrainResult } from './train.js';
export { loadPolicy, importPredicate } from './load-policy.js';
export { TrainerProcess, type TrainerCommand, type TrainerOutput } from './trainer-process.js';
export { RunSession, type SessionOutcome } from './session.js';
export { DecisionProcessor, type DecisionDriver, type Position, type RecordedDecision } from './decision-processor.js';
export { failedSaves } from './run-records.js';
export { EXIT_SAVES_FAILED } from './train.js';
export { PolicyFeed, type PureRunPolicy } from './policy-feed.js';
export { storePort, defaultPorts } from './workspace-ports.js';
export type { RunStore, RunPolicy, RunWorkspace, TrainPorts } from './ports.js';
export { createProgress, silentProgress, type RunProgress } from './progress.js';
export { SaveQueue } from './save-queue.js';
export { restartDelayMs } from './backoff.js';
export { validateTrainerMessage } from './validate-message.js';
