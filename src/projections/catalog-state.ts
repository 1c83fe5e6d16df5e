/**
 * The shape of the one read model (`catalogProjection`, src/projections/catalog.ts): every checkpoint with its
 * status, blobs and story, every run, every decision, epoch and audit-trail line, folded from the ledger alone.
 * The store (commit ids, refcounts, pending prunes, backups), the CLI and the server all read this one state,
 * and resolve refs against it with the one resolver in src/store/refs.ts.
 */
import type { Decision, DecisionKind, Metrics } from '../events.js';
import type { AppendOnly } from './append-only.js';

export type CheckpointStatus = 'kept' | 'pruned' | 'corrupt' | 'missing';
export type MonitorMode = 'min' | 'max';
/** A run whose newest lifecycle event is not RunFinished/RunStopped is `running`, or `crashed` once RunCrashed is recorded. */
export type RunStatus = 'running' | 'crashed' | 'stopped' | 'finished';

/** One line of a checkpoint's story (`ckpt why`, derived by src/views/trail.ts): an event that concerns it. */
export interface TrailEntry {
  seq: number;
  at: number;
  type: string;
  /** One line in plain words, e.g. `SaveDecided: val_loss improved from 0.3120 to 0.2981`. */
  text: string;
}

export interface CatalogEntry {
  id: string;
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  weightsDigest: string;
  manifest: string;
  status: CheckpointStatus;
  bytes: { logical: number; new: number };
  /** Every blob hash the checkpoint references (manifest excluded). */
  blobs: string[];
  objects: string[];
  tags: string[];
  description?: string;
  pinned: boolean;
  labels: string[];
  trainer: string;
  backend: string;
  /** Seq and time of the commit event. */
  seq: number;
  at: number;
  decisionSeq?: number;
  importedFrom?: { originalId: string; from: string };
  prunedSeq?: number;
  /** The last fault recorded for it (blob and what was wrong). */
  fault?: { blob: string; detail: string; seq: number };
  exports: { format: string; path: string; seq: number }[];
  /** Every backup attempt, in order. */
  backups: { target: string; seq: number; ok: boolean }[];
}

export interface RunEntry {
  id: string;
  /** The trainer's name and version from its hello. */
  trainer: string;
  trainerVersion?: string;
  /**
   * How the run was started, as RunStarted recorded it: `trainer` (the program: built-in name or absolute path,
   * see runProgram) and `config` (extra trainer configuration). A resume starts the same program with it.
   */
  trainerConfig: Record<string, unknown>;
  backend: string;
  seed: number;
  /** Planned epochs (a resume asked for more epochs changes it). */
  epochs: number;
  batchSize: number;
  policy: Record<string, unknown>;
  pid: number;
  status: RunStatus;
  startedAt: number;
  startedSeq: number;
  lastAt: number;
  /** When it was finished or stopped (absent while running or crashed). */
  endedAt?: number;
  /** Newest position reported: an epoch ended, the checkpoint a resume continues from, training ended or finished. */
  epoch: number;
  step: number;
  crashes: number;
  resumes: number;
  /** Checkpoints committed by this run (pruned ones included; their ids: runCheckpointIds). */
  checkpoints: number;
  weightsDigest?: string;
  endReason?: string;
}

/** A decision as recorded: the Decision fields plus where it sits in the ledger. */
export interface DecisionRecord extends Decision {
  seq: number;
  at: number;
  type: string;
}

/** One ended epoch of a run, as recorded. */
export interface EpochRecord {
  seq: number;
  at: number;
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  ms: number;
}

/** One audit-trail line (`ckpt log`): decisions, checkpoint facts and run lifecycle events. */
export interface LogEntry {
  seq: number;
  at: number;
  type: string;
  /** `save`, `skip`, ... for decisions; `commit`, `prune-done`, `crash`, ... for facts. */
  kind: string;
  run?: string;
  epoch?: number;
  checkpoint?: string;
  rule?: string;
  reason: string;
  monitor?: string;
  value?: number | null;
  previous?: number | null;
  threshold?: number | null;
}

export interface CatalogState {
  lastSeq: number;
  checkpoints: Record<string, CatalogEntry>;
  /** Checkpoint ids in commit order. */
  order: string[];
  /** How many not-pruned checkpoints reference each blob. A blob absent here may be deleted. */
  blobRefs: Record<string, number>;
  /** n of the next `ckpt-<n>`. */
  nextId: number;
  /** Prune intents without their done event: checkpoint → intent seq. */
  pendingPrunes: Record<string, number>;
  runs: Record<string, RunEntry>;
  /** Run ids in start order. */
  runOrder: string[];
  decisions: AppendOnly<DecisionRecord>;
  epochs: AppendOnly<EpochRecord>;
  log: AppendOnly<LogEntry>;
  /** Bytes written minus bytes freed: what the store holds on disk for committed checkpoints. */
  physicalBytes: number;
  /**
   * Monitored metric → 'min' | 'max': the newest run's policy monitors first (its first one is what plain `best`
   * means), then older ones and metrics named by `best:<metric>` save labels.
   */
  monitors: Record<string, MonitorMode>;
}

/** The kinds of decisions recorded for one epoch (derived; see historyView). */
export type EpochDecisions = DecisionKind[];
