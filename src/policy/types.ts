/**
 * The shapes of a policy: its normalized configuration (what `parsePolicyConfig` returns and RunStarted.policy
 * stores) and its state (a plain-data ledger projection: objects, arrays, strings, numbers, booleans, null).
 */
import type { Decision, Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';

export type PolicyMode = 'min' | 'max';
export type PresetName = 'short' | 'normal' | 'long';

export type MonitorConfig = {
  metric: string;
  mode: PolicyMode;
  /** An improvement must beat the best by more than this (absolute). */
  minDelta: number;
  /** The first value must beat this to count as an improvement (Keras `initial_value_threshold`). */
  initialValueThreshold: number | null;
};

export type EarlyStoppingConfig = {
  monitor: string;
  mode: PolicyMode;
  patience: number;
  minDelta: number;
  /** Training stops unless the monitor beats this baseline (Keras `baseline`). */
  baseline: number | null;
  /** Epochs (1-based count) ignored before the counter starts (Keras `start_from_epoch`). */
  startFromEpoch: number;
  /** On stop, decide `restore` of the best epoch's checkpoint (and make sure that epoch is saved). */
  restoreBestWeights: boolean;
};

export type BackupConfig = {
  target: string;
  /** Back up a checkpoint when it becomes the best by any monitor. */
  onBest: boolean;
  /** Back up every N-th committed checkpoint. */
  everyN: number | null;
  /** Back up the final checkpoint when training ends. */
  atEnd: boolean;
};

/** Normalized policy configuration: every key present, aliases resolved, `auto` modes resolved. */
export type PolicyConfig = {
  preset: PresetName | null;
  monitors: MonitorConfig[];
  /** Epoch saves happen only when some monitor improved (Keras `save_best_only`). */
  saveBestOnly: boolean;
  /** Epoch save (or, with saveBestOnly, improvement check) every N epochs; null = no epoch saves. */
  everyNEpochs: number | null;
  everyNSteps: number | null;
  everyNSeconds: number | null;
  atEpochs: number[];
  atSteps: number[];
  /**
   * true: save a final `last` checkpoint when training ends (done, stopped or early-stopped) unless that step is
   * saved already. 'link' (Lightning `save_last="link"`): no copy; every save is labelled `last`, and the read
   * model resolves `last` to the newest committed checkpoint of the run labelled `last`.
   */
  saveLast: boolean | 'link';
  /** tf.train.CheckpointManager `checkpoint_interval`: a save needs at least N steps since the last one. */
  minStepsBetweenSaves: number | null;
  /** Absolute path of an ES module exporting a pure `(ctx) => boolean | string` save predicate. */
  predicate: string | null;
  /** Keep the best K checkpoints per monitor; -1 keeps all; null = no top-K rule. */
  keepTopK: number | null;
  keepLast: number | null;
  /** Keep every checkpoint whose epoch is a multiple of N (Orbax `keep_period`). */
  keepEveryNEpochs: number | null;
  /** Keep every checkpoint whose step is a multiple of N (Orbax `keep_period` when saves are by step). */
  keepEveryNSteps: number | null;
  /** Keep one checkpoint every N hours of run time (tf.train.CheckpointManager). */
  keepEveryNHours: number | null;
  earlyStopping: EarlyStoppingConfig | null;
  /** Stop when `loss` is NaN or ±Infinity (Keras TerminateOnNaN). */
  terminateOnNaN: boolean;
  /** Decide `restore` of the best checkpoint when training ends (HF `load_best_model_at_end`). */
  restoreBestAtEnd: boolean;
  backup: BackupConfig | null;
};

/** What a custom save predicate sees. It must be pure: same context ⇒ same answer. */
export type PredicateContext = {
  type: 'EpochEnded' | 'BatchEnded';
  epoch: number;
  step: number;
  metrics: Metrics;
  /** Best value so far per monitor (null before the first finite value). */
  best: Record<string, number | null>;
  /** Epoch of the newest committed checkpoint, or null. */
  lastSavedEpoch: number | null;
  /** Step of the newest committed checkpoint, or null (Orbax `should_save_fn(step, last_step)`'s second argument). */
  lastSavedStep: number | null;
};
/** true / a reason string → save; false / undefined → no save. */
export type SavePredicate = (ctx: PredicateContext) => boolean | string | undefined | null;

// ── State ────────────────────────────────────────────────────────────────────────────────────────

export type MonitorProgress = {
  best: number | null;
  bestEpoch: number | null;
  /** The reference an improvement must beat, formatted for reasons (best, else threshold, else inf), kept so
   * that the per-epoch "did not improve from …" needs no number formatting. */
  shown: string;
  nonFinite: number;
};

export type EarlyStoppingProgress = { best: number | null; bestEpoch: number | null; wait: number };

/** What training itself moved forward; rolled back to a checkpoint's copy when a run resumes from it. */
export type PolicyProgress = {
  epoch: number;
  step: number;
  /** Event time of the last time-triggered save (or the run start). */
  timedSaveAt: number | null;
  monitors: MonitorProgress[];
  es: EarlyStoppingProgress | null;
  stopped: boolean;
};

export type TrackedCheckpoint = {
  id: string;
  epoch: number;
  step: number;
  at: number;
  seq: number;
  /** Value per configured monitor (index-aligned with config.monitors); null when absent or not finite. */
  values: (number | null)[];
  /** The first monitor's value formatted for prune reasons (4 decimals), computed once. */
  shown: string;
  labels: string[];
  healthy: boolean;
  /** Kept forever by a milestone rule (keepEveryNEpochs / keepEveryNHours); lives in `archived`. */
  milestone: boolean;
  backedUp: boolean;
  /** PolicyProgress as of the epoch this checkpoint saved (restored on RunResumed from it). */
  progress: PolicyProgress | null;
};

export type PolicyPendingSave = { epoch: number; step: number; causeSeq: number; labels: string[]; progress: PolicyProgress };

export type PolicyState = {
  run: string | null;
  startedAt: number | null;
  progress: PolicyProgress;
  pending: PolicyPendingSave[];
  /**
   * Kept checkpoints that retention still judges (committed, no prune decided), in commit order. A prune
   * decision removes a checkpoint at once; the store's CheckpointPruned that follows is then a no-op.
   */
  checkpoints: TrackedCheckpoint[];
  /**
   * Milestones, kept forever, in commit order (apart so that retention work stays O(K), not O(run length)), in
   * chunks so that an append does not copy them all (see archive.ts; read them with `archiveList`).
   */
  archived: TrackedCheckpoint[][];
  /** Per monitor: the best archived checkpoints, best first (at most max(keepTopK, 1)). */
  archivedTop: TrackedCheckpoint[][];
  /** Id of the newest committed checkpoint still kept. */
  latest: string | null;
  /** Prunes decided whose CheckpointPruned has not arrived yet (so that it needs no search). */
  pruning: string[];
  pinned: string[];
  resumedFrom: string | null;
  /** tf.train.CheckpointManager's last preserved timestamp for keepEveryNHours. */
  preservedAt: number | null;
  commits: number;
  ended: { reason: string; epoch: number; step: number } | null;
  /** An early stop decided a restore before the best epoch's checkpoint was committed. */
  pendingRestore: { epoch: number; causeSeq: number; rule: string } | null;
  /** Monitors already warned about as missing. */
  warned: string[];
};

export type PolicyResult = { state: PolicyState; decisions: Decision[] };

/** A policy: pure `decide` over ledger events, plus its normalized config. */
export interface Policy {
  readonly config: PolicyConfig;
  init(): PolicyState;
  decide(state: PolicyState, event: LedgerEvent): PolicyResult;
}
