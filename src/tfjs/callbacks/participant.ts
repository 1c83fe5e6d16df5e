/**
 * What each callback brings to the shared run of one `model.fit` in one ckpt directory: its slice of the
 * policy configuration, and what it wants to hear back (the decisions of each epoch, for Keras-style output).
 */
import type { Metrics } from '../../events.js';
import type { PolicyPart } from './policy-input.js';

export type CallbackKind = 'ModelCheckpoint' | 'EarlyStopping' | 'BackupAndRestore' | 'TerminateOnNaN';

/** A decision as appended to the ledger, with the seq it got: the decision processor's record. */
export type { RecordedDecision } from '../../run/decision-processor.js';
import type { RecordedDecision } from '../../run/decision-processor.js';

/** What happened at the end of one epoch (or one saveFreq batch). */
export interface StepOutcome {
  /** 1-based, as Keras prints it. */
  epoch: number;
  step: number;
  /** Batch index within the epoch for batch outcomes, undefined at epoch end. */
  batch?: number;
  metrics: Metrics;
  decisions: RecordedDecision[];
}

export interface Participant {
  kind: CallbackKind;
  /** This callback's slice of the run's policy (merged with the other callbacks on the same directory). */
  policy: PolicyPart;
  /** Ask the run to continue the directory's unfinished run (BackupAndRestore). */
  resume?: boolean;
  /** Make each save durable before the epoch ends (BackupAndRestore: a crash after epoch N resumes from N). */
  durableAtEpochEnd?: boolean;
  /** Save weights only (no optimizer state): ModelCheckpoint(saveWeightsOnly). */
  weightsOnly?: boolean;
  /** Append a BatchEnded (and run the policy) every this many batches: ModelCheckpoint(saveFreq: N). */
  batchEvery?: number;
  /** Description (the rendered Keras filepath) for a checkpoint saved at this point. */
  describe?(values: Record<string, number>): string | undefined;
}
