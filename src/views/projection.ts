/**
 * `viewProjection`: folds every ledger event into the `ViewState` read model. The fold updates the state it is
 * given (the ledger hands each projection its own state object and keeps only the returned one), which keeps a
 * long ledger linear instead of copying the decision list on every event.
 */
import type { LedgerEvent, Projection } from '../../ledger/types.js';
import { DECISION_TYPES, type Decision, type EventMap } from '../events.js';
import { toLogEntry, withoutUndefined } from './log-entry.js';
import { autoMetricMode, monitorsOfPolicy } from './mode.js';
import type { CheckpointView, DecisionView, EpochView, RunView, ViewState } from './types.js';

/** Bump when evolve changes so stored snapshots are rebuilt. */
export const VIEW_PROJECTION_VERSION = 7;

/** A fresh, empty read model. */
export function initialViewState(): ViewState {
  return { lastSeq: 0, checkpoints: {}, order: [], runs: {}, runOrder: [], decisions: [], epochs: [], log: [], physicalBytes: 0, monitors: {} };
}

/**
 * The read model as a ledger projection; register it on any ledger to keep views current.
 * @example await ledger.register(viewProjection); const rows = listCheckpoints(ledger.state('views'))
 */
export const viewProjection: Projection<ViewState> = {
  name: 'views',
  version: VIEW_PROJECTION_VERSION,
  init: initialViewState,
  evolve: evolveView,
};

/**
 * Apply one event. Pure in the fold sense: the result depends only on (state, event).
 * @example const state = events.reduce(evolveView, initialViewState())
 */
export function evolveView(state: ViewState, event: LedgerEvent): ViewState {
  state.lastSeq = Math.max(state.lastSeq, event.seq);
  // Malformed data must never break the owner's appends: such an event is simply not part of the read model.
  if (!event.data || typeof event.data !== 'object') return state;
  const entry = toLogEntry(event);
  if (entry) state.log.push(entry);
  if (DECISION_TYPES.includes(event.type)) {
    applyDecision(state, event, event.data as Decision);
    return state;
  }
  const data = event.data as any;
  const run = (id: string | undefined): RunView | undefined => (id ? state.runs[id] : undefined);
  switch (event.type as keyof EventMap) {
    case 'RunStarted': {
      const d = data as EventMap['RunStarted'];
      if (!state.runs[d.run]) state.runOrder.push(d.run);
      state.runs[d.run] = {
        id: d.run, trainer: d.trainer, backend: d.backend, seed: d.seed, epochs: d.epochs, batchSize: d.batchSize,
        policy: d.policy ?? {}, pid: d.pid, status: 'running', startedAt: event.at, startedSeq: event.seq, lastAt: event.at,
        epoch: 0, step: 0, crashes: 0, resumes: 0, checkpoints: 0,
      };
      // The newest run's monitors win (its first one is what plain `best` means), as in the store's catalog, so
      // `ckpt why best` explains the very checkpoint `ckpt export best` exports.
      const monitors = monitorsOfPolicy(d.policy);
      if (monitors.length > 0) {
        const older = Object.entries(state.monitors).filter(([metric]) => !monitors.some((m) => m.monitor === metric));
        state.monitors = Object.fromEntries([...monitors.map((m) => [m.monitor, m.mode] as const), ...older]);
      }
      break;
    }
    case 'RunResumed': {
      const r = run(data.run);
      if (r) {
        Object.assign(r, { status: 'running', resumes: r.resumes + 1, lastAt: event.at });
        delete r.endReason;
      }
      break;
    }
    case 'RunCrashed': {
      const r = run(data.run);
      if (r) Object.assign(r, { status: 'crashed', crashes: r.crashes + 1, lastAt: event.at, endReason: data.reason });
      break;
    }
    case 'RunStopped': {
      const r = run(data.run);
      if (r) Object.assign(r, { status: 'stopped', lastAt: event.at, endReason: data.reason });
      break;
    }
    case 'RunFinished': {
      const r = run(data.run);
      if (r) {
        Object.assign(r, { status: 'finished', lastAt: event.at, epoch: data.epoch, step: data.step, endReason: 'done' });
        if (typeof data.weightsDigest === 'string') r.weightsDigest = data.weightsDigest;
      }
      break;
    }
    case 'EpochEnded': {
      const d = data as EventMap['EpochEnded'];
      const epoch: EpochView = { seq: event.seq, at: event.at, run: d.run, epoch: d.epoch, step: d.step, metrics: d.metrics ?? {}, ms: d.ms ?? 0, decisions: [] };
      state.epochs.push(epoch);
      const r = run(d.run);
      if (r) Object.assign(r, { epoch: d.epoch, step: d.step, lastAt: event.at });
      break;
    }
    case 'CheckpointCommitted':
      applyCommit(state, event as LedgerEvent<EventMap['CheckpointCommitted']>);
      break;
    default:
      applyCheckpointFact(state, event);
  }
  return state;
}

function applyDecision(state: ViewState, event: LedgerEvent, d: Decision): void {
  const view = withoutUndefined({ ...d, run: d.run ?? event.stream, seq: event.seq, at: event.at, type: event.type }) as DecisionView;
  state.decisions.push(view);
  const epoch = findBySeq(state.epochs, d.causeSeq);
  if (epoch && !epoch.decisions.includes(d.kind)) epoch.decisions.push(d.kind);
  if (d.kind === 'save') for (const label of d.labels ?? []) addLabelMonitor(state, label);
  const ckpt = d.checkpoint ? state.checkpoints[d.checkpoint] : undefined;
  if (ckpt) ckpt.trail.push({ seq: event.seq, at: event.at, type: event.type, text: `${event.type} (${d.rule}): ${d.reason}` });
}

function applyCommit(state: ViewState, event: LedgerEvent<EventMap['CheckpointCommitted']>): void {
  const d = event.data;
  const previous = state.checkpoints[d.checkpoint];
  if (previous) return; // a second commit event for the same id cannot happen through the store; keep the first.
  const ckpt: CheckpointView = {
    id: d.checkpoint, run: d.run, epoch: d.epoch, step: d.step, metrics: d.metrics ?? {}, weightsDigest: d.weightsDigest,
    manifest: d.manifest, status: 'kept', bytes: { logical: d.bytes?.logical ?? 0, new: d.bytes?.new ?? 0 },
    blobs: d.blobs?.length ?? 0, objects: d.objects ?? [], tags: [...(d.tags ?? [])], description: d.description,
    pinned: false, labels: [...(d.labels ?? [])], trainer: d.trainer, backend: d.backend,
    committedSeq: event.seq, committedAt: event.at, decisionSeq: d.decisionSeq, exports: [], backups: [], trail: [],
  };
  if (ckpt.description === undefined) delete ckpt.description;
  if (ckpt.decisionSeq === undefined) delete ckpt.decisionSeq;
  const decision = d.decisionSeq !== undefined ? findBySeq(state.decisions, d.decisionSeq) : undefined;
  if (decision) {
    const cause = findBySeq(state.epochs, decision.causeSeq);
    if (cause) {
      ckpt.trail.push({ seq: cause.seq, at: cause.at, type: 'EpochEnded', text: `EpochEnded: epoch ${cause.epoch} (step ${cause.step}) ${metricsLine(cause.metrics)}` });
    }
    ckpt.trail.push({ seq: decision.seq, at: decision.at, type: decision.type, text: `${decision.type} (${decision.rule}): ${decision.reason}` });
  }
  ckpt.trail.push({ seq: event.seq, at: event.at, type: event.type, text: `CheckpointCommitted: ${toLogEntry(event)?.reason ?? d.checkpoint}` });
  state.checkpoints[d.checkpoint] = ckpt;
  state.order.push(d.checkpoint);
  state.physicalBytes += ckpt.bytes.new;
  for (const label of ckpt.labels) addLabelMonitor(state, label);
  const epoch = [...state.epochs].reverse().find((e) => e.run === d.run && e.epoch === d.epoch);
  if (epoch) epoch.checkpoint = d.checkpoint;
  const r = state.runs[d.run];
  if (r) r.checkpoints++;
}

function applyCheckpointFact(state: ViewState, event: LedgerEvent): void {
  const data = event.data as { checkpoint?: string } & Record<string, any>;
  const ckpt = data.checkpoint ? state.checkpoints[data.checkpoint] : undefined;
  if (!ckpt) return;
  const entry = toLogEntry(event);
  const trail = (text = entry?.reason ?? event.type) => ckpt.trail.push({ seq: event.seq, at: event.at, type: event.type, text: `${event.type}: ${text}` });
  switch (event.type as keyof EventMap) {
    case 'CheckpointPruned':
      if (ckpt.status !== 'pruned') state.physicalBytes -= Number(data.bytesFreed ?? 0);
      ckpt.status = 'pruned';
      ckpt.prunedSeq = event.seq;
      trail();
      break;
    case 'CheckpointCorrupted':
      if (ckpt.status !== 'pruned') ckpt.status = 'corrupt';
      trail();
      break;
    case 'CheckpointMissing':
      if (ckpt.status !== 'pruned') ckpt.status = 'missing';
      trail();
      break;
    case 'CheckpointVerified':
      if (ckpt.status === 'corrupt' || ckpt.status === 'missing') ckpt.status = 'kept';
      trail();
      break;
    case 'CheckpointTagged':
      for (const tag of data.tags ?? []) if (!ckpt.tags.includes(tag)) ckpt.tags.push(tag);
      if (data.description !== undefined) ckpt.description = data.description;
      trail();
      break;
    case 'CheckpointPinned':
      ckpt.pinned = true;
      trail();
      break;
    case 'CheckpointUnpinned':
      ckpt.pinned = false;
      trail();
      break;
    case 'CheckpointExported':
      ckpt.exports.push({ format: data.format, path: data.path, seq: event.seq });
      trail();
      break;
    case 'CheckpointImported':
      ckpt.importedFrom = { originalId: data.originalId, from: data.from };
      trail();
      break;
    case 'BackupVerified':
    case 'BackupFailed':
      ckpt.backups.push({ target: data.target, seq: event.seq, ok: event.type === 'BackupVerified' });
      trail();
      break;
  }
}

function addLabelMonitor(state: ViewState, label: string): void {
  if (!label.startsWith('best:')) return;
  const metric = label.slice(5);
  if (metric) state.monitors[metric] ??= autoMetricMode(metric);
}

// Binary search of a seq-ordered list.
function findBySeq<T extends { seq: number }>(list: readonly T[], seq: number): T | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = list[mid].seq;
    if (at === seq) return list[mid];
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** `val_loss=0.2981 acc=0.9120` — metrics in one line, 4 decimals, sorted by name. */
export function metricsLine(metrics: Record<string, number>): string {
  return Object.keys(metrics).sort().map((k) => `${k}=${Number.isFinite(metrics[k]) ? metrics[k].toFixed(4) : metrics[k]}`).join(' ');
}
