/**
 * The domain's event types: the names and `data` shapes that ckpt appends to the ledger.
 * docs/events.md is the prose contract; this file is the typed one. Every event of a run uses the run id
 * (`run-<n>`) as its ledger `stream`; store-wide events (gc, import) use the stream `store`.
 *
 * Epochs and steps are 1-based counts of completed work: `EpochEnded {epoch: 1}` ends the first epoch.
 */
import type { LedgerEvent } from '../ledger/types.js';

export type Metrics = Record<string, number>;

// ── Run lifecycle ────────────────────────────────────────────────────────────────────────────────
export interface RunStarted {
  run: string;
  trainer: string;
  trainerVersion: string;
  backend: string;
  protocol: number;
  seed: number;
  epochs: number;
  batchSize: number;
  /** Anything else the trainer was started with. */
  trainerConfig: Record<string, unknown>;
  /** The normalized policy configuration (see src/policy). */
  policy: Record<string, unknown>;
  pid: number;
  /** How tensors travel between this trainer session and the store: `staged` files (capability `stage`) or `frames`. */
  tensors?: TensorTransport;
}
/** How a trainer session's tensors travel (docs/protocol.md): as files in the store, or inside protocol frames. */
export type TensorTransport = 'staged' | 'frames';
export interface RunResumed {
  run: string;
  /** Checkpoint the run continued from; null when no checkpoint verified and it started over. */
  fromCheckpoint: string | null;
  epoch: number;
  step: number;
  /** 1 for the first restart of this run, 2 for the next, ... */
  attempt: number;
  reason: 'resume' | 'restart';
  /** The run's new planned end, when this resume extends a finished run (`ckpt train --resume --epochs N`). */
  epochs?: number;
  /** How tensors travel in this trainer session (see RunStarted.tensors). */
  tensors?: TensorTransport;
}
export interface RunCrashed {
  run: string;
  reason: string;
  code?: string;
  exitCode?: number | null;
  signal?: string | null;
  attempt: number;
}
export interface RunStopped { run: string; reason: string; signal?: string }
export interface RunFinished {
  run: string; epoch: number; step: number; weightsDigest?: string;
  /** Decided saves whose position was never committed (SaveFailed, not saved later); absent when none. */
  failedSaves?: number;
}
export interface TrainerLog { run: string; source: 'stderr' | 'log'; level: 'debug' | 'info' | 'warn' | 'error'; line: string }
export interface ProtocolFault {
  run: string; code: string; message: string;
  /** The trainer's last stderr lines, when it failed before hello (a missing module, a syntax error). */
  stderr?: string[];
}

// ── Training progress ────────────────────────────────────────────────────────────────────────────
export interface EpochEnded { run: string; epoch: number; step: number; metrics: Metrics; ms: number }
export interface BatchEnded { run: string; epoch: number; batch: number; step: number; metrics: Metrics }
/** The trainer finished its loop (or was asked to stop): policies may decide a final "last" save. */
export interface TrainingEnded { run: string; epoch: number; step: number; reason: 'done' | 'stopped' | 'early-stop' }

// ── Decisions ────────────────────────────────────────────────────────────────────────────────────
export type DecisionKind = 'save' | 'skip' | 'prune' | 'backup' | 'stop' | 'restore' | 'warn';

/** One policy decision, always with the numbers that made it and a one-line reason in the Keras voice. */
export interface Decision {
  kind: DecisionKind;
  /** Seq of the event that caused the decision. */
  causeSeq: number;
  /** The rule that fired, e.g. `saveBestOnly`, `everyNEpochs`, `keepTopK`, `earlyStopping`. */
  rule: string;
  reason: string;
  run?: string;
  epoch?: number;
  step?: number;
  monitor?: string;
  value?: number | null;
  previous?: number | null;
  threshold?: number | null;
  delta?: number | null;
  /** The checkpoint a prune / backup / restore decision is about. */
  checkpoint?: string;
  /** Backup target directory. */
  target?: string;
  /** Labels such as `last` or `best:val_loss` for save decisions. */
  labels?: string[];
}

/** Ledger event type for each decision kind. */
export const DECISION_EVENT = {
  save: 'SaveDecided',
  skip: 'SaveSkipped',
  prune: 'PruneIntended',
  backup: 'BackupIntended',
  stop: 'StopDecided',
  restore: 'RestoreDecided',
  warn: 'PolicyWarning',
} as const satisfies Record<DecisionKind, string>;

// ── Checkpoint facts ─────────────────────────────────────────────────────────────────────────────
export interface CheckpointCommitted {
  checkpoint: string;
  run: string;
  epoch: number;
  step: number;
  /** sha256 of the manifest blob. */
  manifest: string;
  weightsDigest: string;
  metrics: Metrics;
  /** logical = every referenced blob's size; new = bytes this checkpoint actually wrote. */
  bytes: { logical: number; new: number };
  /** Every blob hash the checkpoint references (manifest included), for reference counting. */
  blobs: string[];
  objects: string[];
  tags: string[];
  description?: string;
  /** Seq of the SaveDecided event that authorised it, when a policy did. */
  decisionSeq?: number;
  labels?: string[];
  trainer: string;
  backend: string;
}
export interface CheckpointPruned { checkpoint: string; intentSeq: number; blobsDeleted: number; bytesFreed: number }
export interface CheckpointVerified { checkpoint: string; blobs: number; bytes: number }
export interface CheckpointCorrupted { checkpoint: string; blob: string; expected: string; actual: string | null; detail: string }
export interface CheckpointMissing { checkpoint: string; blob: string }
/** A damaged or lost blob of a checkpoint was replaced by a verified copy from a backup (after its Corrupted/Missing). */
export interface CheckpointRepaired { checkpoint: string; blob: string; from: string; fault: 'corrupt' | 'missing' }
export interface CheckpointTagged { checkpoint: string; tags: string[]; description?: string }
export interface CheckpointPinned { checkpoint: string; reason?: string }
export interface CheckpointUnpinned { checkpoint: string; reason?: string }
export interface CheckpointExported { checkpoint: string; format: 'tfjs' | 'safetensors' | 'bundle'; path: string }
export interface CheckpointImported {
  checkpoint: string;
  originalId: string;
  from: string;
  /** The checkpoint's events in the source ledger, as carried by the bundle (kept here, never replayed). */
  events?: { stream: string; type: string; v: number; at: number; data: unknown }[];
}
export interface BackupVerified { checkpoint: string; target: string; blobs: number; bytes: number }
export interface BackupFailed { checkpoint: string; target: string; code: string; message: string }
/**
 * A save decided at `epoch`/`step` (the SaveDecided at `decisionSeq`) that could not be made: the exact state was
 * not to be had (`PROTOCOL_STATE_GONE`, a trainer that exited) or the store could not write it (`STORE_NO_SPACE`).
 * Nothing was committed in its place.
 */
export interface SaveFailed { run: string; decisionSeq: number; epoch: number; step: number; code: string; reason: string }

// ── Ledger repair (src/repair) ──────────────────────────────────────────────────────────────────
/** A manifest found in `objects/` that the ledger has no commit for. */
export interface StoreManifestFact { manifest: string; run: string; epoch: number; step: number; decisionSeq?: number }
/**
 * Opening found the store ahead of the ledger (a torn write-ahead log rolled the ledger back): complete
 * manifests the ledger does not know, and kept checkpoints whose blobs a lost prune removed.
 */
export interface LedgerBehindStore { manifests: StoreManifestFact[]; lostPrunes: string[]; ledgerSeq: number; advice: string }
/**
 * `ckpt repair` rebuilt or completed the ledger. `method`: `leveldb` (LevelDB's own repair kept every record),
 * `rebuilt` (a new ledger from the readable prefix of the old one plus the manifests in the store) or `completed`
 * (the ledger opened; only what the store holds beyond it was added). `lost` says, in words, what could not be
 * recovered; `assumed` the run settings that were not recoverable and were taken from defaults or options.
 */
export interface LedgerRecovered {
  method: 'leveldb' | 'rebuilt' | 'completed';
  /** Where the damaged ledger directory was moved (never deleted); null when it was repaired in place. */
  damaged: string | null;
  /** Events kept from the damaged ledger (seq 1..keptEvents). */
  keptEvents: number;
  /** Events the damaged ledger claimed beyond those kept (its last seq − keptEvents), when known. */
  droppedEvents: number | null;
  runs: string[];
  checkpoints: { checkpoint: string; manifest: string; run: string; epoch: number; step: number }[];
  /** Checkpoints whose blobs were gone (pruned by a decision the ledger lost): recorded as pruned. */
  prunes: string[];
  /** Complete manifests that could not be recovered, with why. */
  skipped: { manifest: string; reason: string }[];
  assumed: Record<string, Record<string, unknown>>;
  lost: string[];
}

/** Map of event type → data shape, for typed reads (`isEvent(e, 'EpochEnded')`). */
export interface EventMap {
  RunStarted: RunStarted;
  RunResumed: RunResumed;
  RunCrashed: RunCrashed;
  RunStopped: RunStopped;
  RunFinished: RunFinished;
  TrainerLog: TrainerLog;
  ProtocolFault: ProtocolFault;
  EpochEnded: EpochEnded;
  BatchEnded: BatchEnded;
  TrainingEnded: TrainingEnded;
  SaveDecided: Decision;
  SaveSkipped: Decision;
  PruneIntended: Decision;
  BackupIntended: Decision;
  StopDecided: Decision;
  RestoreDecided: Decision;
  PolicyWarning: Decision;
  CheckpointCommitted: CheckpointCommitted;
  CheckpointPruned: CheckpointPruned;
  CheckpointVerified: CheckpointVerified;
  CheckpointCorrupted: CheckpointCorrupted;
  CheckpointMissing: CheckpointMissing;
  CheckpointRepaired: CheckpointRepaired;
  CheckpointTagged: CheckpointTagged;
  CheckpointPinned: CheckpointPinned;
  CheckpointUnpinned: CheckpointUnpinned;
  CheckpointExported: CheckpointExported;
  CheckpointImported: CheckpointImported;
  BackupVerified: BackupVerified;
  BackupFailed: BackupFailed;
  LedgerBehindStore: LedgerBehindStore;
  LedgerRecovered: LedgerRecovered;
  SaveFailed: SaveFailed;
}
export type EventType = keyof EventMap;
export type DomainEvent<K extends EventType = EventType> = LedgerEvent<EventMap[K]> & { type: K };

/**
 * Narrow a ledger event to one domain type.
 * @example if (isEvent(e, 'EpochEnded')) console.log(e.data.metrics.val_loss)
 */
export function isEvent<K extends EventType>(event: LedgerEvent, type: K): event is DomainEvent<K> {
  return event.type === type;
}

export const DECISION_TYPES: readonly string[] = Object.values(DECISION_EVENT);
