/**
 * The read model: one projection of the ledger that the store, the CLI and the server all read. What checkpoints
 * exist and in what state (blob refcounts, the next id, pending prunes, backups), their stories, the runs, every
 * decision and epoch, and the audit trail — folded from events alone (never from directory listings), so it
 * rebuilds exactly after a crash. Refs resolve against it with the one resolver (src/store/refs.ts); the views
 * (src/views/) are pure functions of it.
 *
 * @example const catalog = ledger.state<CatalogState>(CATALOG)
 *          resolveRef(catalog, 'best').id
 */
import type { LedgerEvent, Projection } from '../../ledger/types.js';
import { DECISION_TYPES, type Decision, type EventMap } from '../events.js';
import { appended, emptyList } from './append-only.js';
import { Draft } from './catalog-draft.js';
import { addLabelMonitor, applyRunEvent } from './catalog-runs.js';
import type { CatalogEntry, CatalogState, CheckpointStatus, DecisionRecord, EpochRecord } from './catalog-state.js';
import { toLogEntry, withoutUndefined } from './log-entry.js';

export * from './catalog-state.js';
export { latestRun, monitorsOf, nextRunId, runCheckpointIds, runHistory, runProgram } from './catalog-runs.js';

export const CATALOG = 'catalog';

/** Checkpoint facts that change a checkpoint's entry. */
const CHANGES = new Set(['CheckpointPruned', 'CheckpointCorrupted', 'CheckpointMissing', 'CheckpointVerified', 'CheckpointRepaired', 'CheckpointTagged', 'CheckpointPinned', 'CheckpointUnpinned', 'CheckpointExported', 'CheckpointImported', 'BackupVerified', 'BackupFailed']);

/** Events that are part of no view (progress and chatter): only lastSeq moves. */
const PASSING = new Set(['BatchEnded', 'TrainerLog']);

/** Bump when evolve changes so stored snapshots are rebuilt. */
export const CATALOG_VERSION = 3;

/** A fresh, empty read model. */
export function initialCatalog(): CatalogState {
  return {
    lastSeq: 0, checkpoints: {}, order: [], blobRefs: {}, nextId: 1, pendingPrunes: {}, runs: {}, runOrder: [],
    decisions: emptyList(), epochs: emptyList(), log: emptyList(), physicalBytes: 0, monitors: {},
  };
}

/**
 * Apply one event. Pure: `state` is never mutated (see Draft and AppendOnly).
 * @example const state = events.reduce(evolveCatalog, initialCatalog())
 */
export function evolveCatalog(prev: CatalogState, event: LedgerEvent): CatalogState {
  const lastSeq = Math.max(prev.lastSeq, event.seq);
  // Malformed data must never break the owner's appends: such an event is simply not part of the read model.
  // Batch progress and trainer logs (most events) change nothing else.
  if (!event.data || typeof event.data !== 'object' || PASSING.has(event.type)) return { ...prev, lastSeq };
  const draft = new Draft(prev);
  const state = draft.state;
  state.lastSeq = lastSeq;
  const line = toLogEntry(event);
  if (line) state.log = appended(prev.log, line);
  if (DECISION_TYPES.includes(event.type)) applyDecision(draft, event, event.data as Decision);
  else if (event.type === 'EpochEnded') applyEpoch(draft, event as LedgerEvent<EventMap['EpochEnded']>);
  else if (event.type === 'CheckpointCommitted') applyCommit(draft, event as LedgerEvent<EventMap['CheckpointCommitted']>);
  else if (!applyRunEvent(draft, event)) applyCheckpointFact(draft, event);
  return state;
}

/** The read model as a ledger projection, registered on every workspace ledger. */
export const catalogProjection: Projection<CatalogState> = {
  name: CATALOG,
  version: CATALOG_VERSION,
  init: initialCatalog,
  evolve: evolveCatalog,
};

function idNumber(id: string): number {
  const match = /^ckpt-(\d+)$/.exec(id);
  return match ? Number(match[1]) : 0;
}

function applyEpoch(draft: Draft, event: LedgerEvent<EventMap['EpochEnded']>): void {
  const d = event.data;
  const record: EpochRecord = { seq: event.seq, at: event.at, run: d.run, epoch: d.epoch, step: d.step, metrics: d.metrics ?? {}, ms: d.ms ?? 0 };
  draft.state.epochs = appended(draft.prev.epochs, record);
  const r = draft.run(d.run);
  if (r) Object.assign(r, { epoch: d.epoch, step: d.step, lastAt: event.at });
}

function applyDecision(draft: Draft, event: LedgerEvent, d: Decision): void {
  const record = withoutUndefined({ ...d, run: d.run ?? event.stream, seq: event.seq, at: event.at, type: event.type }) as DecisionRecord;
  draft.state.decisions = appended(draft.prev.decisions, record);
  if (d.kind === 'save') for (const label of d.labels ?? []) addLabelMonitor(draft, label);
  const target = d.checkpoint !== undefined && Object.hasOwn(draft.prev.checkpoints, d.checkpoint) ? draft.prev.checkpoints[d.checkpoint] : undefined;
  if (event.type === 'PruneIntended' && target && target.status !== 'pruned') draft.own('pendingPrunes')[target.id] = event.seq;
}

function applyCommit(draft: Draft, event: LedgerEvent<EventMap['CheckpointCommitted']>): void {
  const d = event.data;
  // A second commit event for the same id cannot happen through the store; keep the first.
  if (Object.hasOwn(draft.prev.checkpoints, d.checkpoint)) return;
  const entry: CatalogEntry = {
    id: d.checkpoint, run: d.run, epoch: d.epoch, step: d.step, metrics: { ...(d.metrics ?? {}) }, weightsDigest: d.weightsDigest,
    manifest: d.manifest, status: 'kept', bytes: { logical: d.bytes?.logical ?? 0, new: d.bytes?.new ?? 0 },
    blobs: [...(d.blobs ?? [])], objects: [...(d.objects ?? [])], tags: [...(d.tags ?? [])], pinned: false,
    labels: [...(d.labels ?? [])], trainer: d.trainer, backend: d.backend, seq: event.seq, at: event.at,
    exports: [], backups: [],
  };
  if (d.description !== undefined) entry.description = d.description;
  if (d.decisionSeq !== undefined) entry.decisionSeq = d.decisionSeq;
  draft.add(entry);
  const refs = draft.own('blobRefs');
  for (const blob of entry.blobs) refs[blob] = (refs[blob] ?? 0) + 1;
  draft.state.nextId = Math.max(draft.prev.nextId, idNumber(entry.id) + 1);
  draft.state.physicalBytes = draft.prev.physicalBytes + entry.bytes.new;
  for (const label of entry.labels) addLabelMonitor(draft, label);
  const r = draft.run(d.run);
  if (r) r.checkpoints++;
}

function applyCheckpointFact(draft: Draft, event: LedgerEvent): void {
  const data = event.data as { checkpoint?: string } & Record<string, any>;
  const id = data.checkpoint;
  const current = id !== undefined && Object.hasOwn(draft.prev.checkpoints, id) ? draft.prev.checkpoints[id] : undefined;
  // Copy the entry (and the checkpoints record) only for a fact that changes it.
  if (!current || !CHANGES.has(event.type)) return;
  if ((event.type === 'CheckpointVerified' || event.type === 'CheckpointRepaired') && current.status !== 'corrupt' && current.status !== 'missing') return;
  const entry = draft.entry(id)!;
  const setStatus = (status: CheckpointStatus) => {
    if (entry.status !== 'pruned') entry.status = status;
  };
  switch (event.type as keyof EventMap) {
    case 'CheckpointPruned': {
      if (entry.id in draft.prev.pendingPrunes) delete draft.own('pendingPrunes')[entry.id];
      if (entry.status !== 'pruned') {
        draft.state.physicalBytes -= Number(data.bytesFreed ?? 0);
        const refs = draft.own('blobRefs');
        for (const blob of entry.blobs) {
          const left = (refs[blob] ?? 1) - 1;
          if (left > 0) refs[blob] = left;
          else delete refs[blob];
        }
      }
      entry.status = 'pruned';
      entry.prunedSeq = event.seq;
      break;
    }
    case 'CheckpointCorrupted':
    case 'CheckpointMissing':
      if (entry.status === 'pruned') break;
      entry.fault = { blob: data.blob, detail: data.detail ?? 'missing', seq: event.seq };
      setStatus(event.type === 'CheckpointMissing' ? 'missing' : 'corrupt');
      break;
    case 'CheckpointVerified':
    case 'CheckpointRepaired':
      setStatus('kept');
      break;
    case 'CheckpointTagged':
      for (const tag of data.tags ?? []) if (!entry.tags.includes(tag)) entry.tags.push(tag);
      if (data.description !== undefined) entry.description = data.description;
      break;
    case 'CheckpointPinned':
      entry.pinned = true;
      // A pin cancels a prune still pending for it, so unpinning later does not resurrect that old intent.
      if (entry.id in draft.prev.pendingPrunes) delete draft.own('pendingPrunes')[entry.id];
      break;
    case 'CheckpointUnpinned':
      entry.pinned = false;
      break;
    case 'CheckpointExported':
      entry.exports.push({ format: data.format, path: data.path, seq: event.seq });
      break;
    case 'CheckpointImported':
      entry.importedFrom = { originalId: data.originalId, from: data.from };
      break;
    case 'BackupVerified':
    case 'BackupFailed':
      entry.backups.push({ target: data.target, seq: event.seq, ok: event.type === 'BackupVerified' });
      break;
  }
}

/**
 * Backup directories holding a verified copy of this checkpoint (newest verification first).
 * @example verifiedBackups(entry) // ['/mnt/backup']
 */
export function verifiedBackups(entry: Pick<CatalogEntry, 'backups'>): string[] {
  return [...new Set(entry.backups.filter((b) => b.ok).map((b) => b.target).reverse())];
}

/** `val_loss=0.2981 acc=0.9120` — metrics in one line, 4 decimals, sorted by name. */
export function metricsLine(metrics: Record<string, number>): string {
  return Object.keys(metrics).sort().map((k) => `${k}=${Number.isFinite(metrics[k]) ? metrics[k].toFixed(4) : metrics[k]}`).join(' ');
}
