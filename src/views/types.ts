/**
 * The read model behind `ckpt ls/show/why/log/history/summary/best/latest` and the server's JSON endpoints:
 * plain data folded from ledger events by `viewProjection` (src/views/projection.ts). Every view function in
 * this folder is a pure function of a `ViewState`, so the CLI (local or through an owner) and the HTTP API
 * print the same answers.
 */
import type { Decision, DecisionKind, Metrics } from '../events.js';

export type ViewCheckpointStatus = 'kept' | 'pruned' | 'corrupt' | 'missing';
export type ViewRunStatus = 'running' | 'finished' | 'stopped' | 'crashed';

/** One line of a checkpoint's story (`ckpt why`): an event that concerns it, in ledger order. */
export interface TrailEntry {
  seq: number;
  at: number;
  type: string;
  /** One line in plain words, e.g. `SaveDecided: val_loss improved from 0.3120 to 0.2981`. */
  text: string;
}

export interface CheckpointView {
  id: string;
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  weightsDigest: string;
  manifest: string;
  status: ViewCheckpointStatus;
  bytes: { logical: number; new: number };
  blobs: number;
  objects: string[];
  tags: string[];
  description?: string;
  pinned: boolean;
  labels: string[];
  trainer: string;
  backend: string;
  committedSeq: number;
  committedAt: number;
  decisionSeq?: number;
  importedFrom?: { originalId: string; from: string };
  prunedSeq?: number;
  exports: { format: string; path: string; seq: number }[];
  backups: { target: string; seq: number; ok: boolean }[];
  trail: TrailEntry[];
}

export interface RunView {
  id: string;
  trainer: string;
  backend: string;
  seed: number;
  epochs: number;
  batchSize: number;
  policy: Record<string, unknown>;
  pid: number;
  status: ViewRunStatus;
  startedAt: number;
  startedSeq: number;
  lastAt: number;
  epoch: number;
  step: number;
  crashes: number;
  resumes: number;
  checkpoints: number;
  weightsDigest?: string;
  endReason?: string;
}

/** A decision as recorded: the Decision fields plus where it sits in the ledger. */
export interface DecisionView extends Decision {
  seq: number;
  at: number;
  type: string;
}

/** One ended epoch of a run, with what the policy decided about it. */
export interface EpochView {
  seq: number;
  at: number;
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  ms: number;
  decisions: DecisionKind[];
  checkpoint?: string;
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

export interface ViewState {
  lastSeq: number;
  checkpoints: Record<string, CheckpointView>;
  /** Checkpoint ids in commit order. */
  order: string[];
  runs: Record<string, RunView>;
  /** Run ids in start order. */
  runOrder: string[];
  decisions: DecisionView[];
  epochs: EpochView[];
  log: LogEntry[];
  /** Bytes written minus bytes freed: what the store holds on disk for committed checkpoints. */
  physicalBytes: number;
  /** Monitored metric → 'min' | 'max', from the runs' policies and save labels. */
  monitors: Record<string, 'min' | 'max'>;
}
