/**
 * The catalog projection: what checkpoints exist and in what state, folded from the ledger alone (never from
 * directory listings). Blob reference counts, the next checkpoint id, latest per run and best per metric all
 * rebuild exactly from events after a crash.
 *
 * @example const catalog = ledger.state<CatalogState>(CATALOG)
 *          catalog.checkpoints[catalog.latest!].epoch
 */
import type { LedgerEvent, Projection } from '../../ledger/types.js';
import type { Decision, Metrics } from '../events.js';
import { resolveMode } from '../policy/mode.js';

export const CATALOG = 'catalog';

export type CheckpointStatus = 'kept' | 'pruned' | 'corrupt' | 'missing';
export type MonitorMode = 'min' | 'max';

export interface CatalogEntry {
  id: string;
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  status: CheckpointStatus;
  tags: string[];
  description?: string;
  pinned: boolean;
  labels: string[];
  bytes: { logical: number; new: number };
  blobs: string[];
  manifest: string;
  weightsDigest: string;
  /** Seq and time of the commit event. */
  seq: number;
  at: number;
  trainer: string;
  backend: string;
  decisionSeq?: number;
  /** Backup directories where this checkpoint was copied and verified. */
  backups: string[];
  /** For imported checkpoints: `<originalId> from <bundle path>`. */
  importedFrom?: string;
  /** The last fault recorded for it (blob and what was wrong). */
  fault?: { blob: string; detail: string; seq: number };
}

export interface CatalogState {
  checkpoints: Record<string, CatalogEntry>;
  /** Checkpoint ids in commit order. */
  order: string[];
  /** How many not-pruned checkpoints reference each blob. A blob absent here may be deleted. */
  blobRefs: Record<string, number>;
  /** n of the next `ckpt-<n>`. */
  nextId: number;
  /** Newest kept checkpoint, overall and per run. */
  latest: string | null;
  latestByRun: Record<string, string>;
  /** Best kept checkpoint per metric (mode from the run policies, else inferred from the name). */
  best: Record<string, string>;
  /** Monitor modes configured by RunStarted.policy (the newest run wins). */
  modes: Record<string, MonitorMode>;
  /** The metric that plain `best` means: the newest run's first monitor. */
  primaryMonitor: string | null;
  /** Prune intents without their done event: checkpoint → intent seq. */
  pendingPrunes: Record<string, number>;
}

/**
 * The policy engine's rule for `mode: 'auto'` (loss/error → min, accuracy/auc/f1/… → max); names it cannot
 * classify are minimised here rather than refused, since the catalog ranks whatever metrics a trainer sent.
 * @example inferMode('val_acc') // 'max'
 */
export function inferMode(metric: string): MonitorMode {
  try {
    return resolveMode(metric, 'auto');
  } catch {
    return /acc|auc|f1|precision|recall|iou|score/i.test(metric) ? 'max' : 'min';
  }
}

function modeFrom(value: unknown, metric: string): MonitorMode {
  return value === 'min' || value === 'max' ? value : inferMode(metric);
}

/**
 * Every monitor named in a policy configuration, first monitor first: the normalized `monitors: [{metric, mode}]`
 * list, then any `{monitor, mode}` object anywhere inside it (early stopping, hand-written configs).
 * @example monitorsOf({ monitors: [{ metric: 'val_acc', mode: 'max' }] }) // [{ monitor: 'val_acc', mode: 'max' }]
 */
export function monitorsOf(policy: unknown, found: { monitor: string; mode: MonitorMode }[] = []): { monitor: string; mode: MonitorMode }[] {
  const add = (monitor: string, mode: unknown) => {
    if (!found.some((f) => f.monitor === monitor)) found.push({ monitor, mode: modeFrom(mode, monitor) });
  };
  if (Array.isArray(policy)) {
    for (const item of policy) monitorsOf(item, found);
  } else if (policy && typeof policy === 'object') {
    const record = policy as Record<string, unknown>;
    if (Array.isArray(record.monitors)) {
      for (const m of record.monitors) {
        if (typeof m === 'string') add(m, undefined);
        else if (m && typeof m === 'object') {
          const name = (m as Record<string, unknown>).metric ?? (m as Record<string, unknown>).monitor;
          if (typeof name === 'string') add(name, (m as Record<string, unknown>).mode);
        }
      }
    }
    if (typeof record.monitor === 'string') add(record.monitor, record.mode);
    for (const value of Object.values(record)) if (value && typeof value === 'object') monitorsOf(value, found);
  }
  return found;
}

/** Mode of a metric in this catalog. */
export function modeOf(state: Pick<CatalogState, 'modes'>, metric: string): MonitorMode {
  return state.modes[metric] ?? inferMode(metric);
}

/** True when `a` is strictly better than `b` under `mode`. */
export function isBetter(a: number, b: number, mode: MonitorMode): boolean {
  return mode === 'min' ? a < b : a > b;
}

function idNumber(id: string): number {
  const match = /^ckpt-(\d+)$/.exec(id);
  return match ? Number(match[1]) : 0;
}

function recomputeViews(state: CatalogState): void {
  state.latest = null;
  state.latestByRun = {};
  state.best = {};
  for (const id of state.order) {
    const entry = state.checkpoints[id];
    if (entry.status !== 'kept') continue;
    state.latest = id;
    state.latestByRun[entry.run] = id;
    for (const [metric, value] of Object.entries(entry.metrics)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const current = state.best[metric];
      if (current === undefined || isBetter(value, state.checkpoints[current].metrics[metric], modeOf(state, metric))) state.best[metric] = id;
    }
  }
}

/**
 * A draft of the next state: containers are copied the first time they change, so the previous state (which
 * the ledger may still hold) is never mutated and unchanged parts are shared rather than deep-cloned.
 */
class Draft {
  readonly state: CatalogState;
  private copied = new Set<string>();
  private copiedEntries = new Set<string>();

  constructor(readonly prev: CatalogState) {
    this.state = { ...prev };
  }

  private own<K extends 'checkpoints' | 'blobRefs' | 'modes' | 'pendingPrunes'>(key: K): CatalogState[K] {
    if (!this.copied.has(key)) {
      this.state[key] = { ...this.prev[key] } as CatalogState[K];
      this.copied.add(key);
    }
    return this.state[key];
  }

  get blobRefs(): Record<string, number> { return this.own('blobRefs'); }
  get modes(): Record<string, MonitorMode> { return this.own('modes'); }
  get pendingPrunes(): Record<string, number> { return this.own('pendingPrunes'); }

  /** A writable copy of one entry (its tags and backups arrays copied too). */
  entry(id: string): CatalogEntry | undefined {
    const current = this.state.checkpoints[id];
    if (!current) return undefined;
    if (this.copiedEntries.has(id)) return current;
    const copy: CatalogEntry = { ...current, tags: [...current.tags], backups: [...current.backups] };
    this.own('checkpoints')[id] = copy;
    this.copiedEntries.add(id);
    return copy;
  }

  add(entry: CatalogEntry): void {
    this.own('checkpoints')[entry.id] = entry;
    this.copiedEntries.add(entry.id);
    this.state.order = [...this.prev.order, entry.id];
  }
}

function apply(prev: CatalogState, event: LedgerEvent): CatalogState {
  const data = event.data as Record<string, any>;
  const draft = new Draft(prev);
  const state = draft.state;
  const setStatus = (id: string, status: CheckpointStatus): boolean => {
    const current = state.checkpoints[id];
    if (!current || current.status === status || current.status === 'pruned') return false;
    draft.entry(id)!.status = status;
    return true;
  };
  switch (event.type) {
    case 'RunStarted': {
      const monitors = monitorsOf(data?.policy);
      if (monitors.length === 0) return prev;
      for (const { monitor, mode } of monitors) draft.modes[monitor] = mode;
      state.primaryMonitor = monitors[0].monitor;
      recomputeViews(state);
      return state;
    }
    case 'CheckpointCommitted': {
      if (prev.checkpoints[data.checkpoint]) return prev;
      const entry: CatalogEntry = {
        id: data.checkpoint,
        run: data.run,
        epoch: data.epoch,
        step: data.step,
        metrics: { ...(data.metrics ?? {}) },
        status: 'kept',
        tags: [...(data.tags ?? [])],
        ...(data.description !== undefined ? { description: data.description } : {}),
        pinned: false,
        labels: [...(data.labels ?? [])],
        bytes: { logical: data.bytes?.logical ?? 0, new: data.bytes?.new ?? 0 },
        blobs: [...(data.blobs ?? [])],
        manifest: data.manifest,
        weightsDigest: data.weightsDigest,
        seq: event.seq,
        at: event.at,
        trainer: data.trainer,
        backend: data.backend,
        ...(data.decisionSeq !== undefined ? { decisionSeq: data.decisionSeq } : {}),
        backups: [],
      };
      draft.add(entry);
      const refs = draft.blobRefs;
      for (const blob of entry.blobs) refs[blob] = (refs[blob] ?? 0) + 1;
      state.nextId = Math.max(state.nextId, idNumber(entry.id) + 1);
      recomputeViews(state);
      return state;
    }
    case 'PruneIntended': {
      const decision = data as Decision;
      const target = decision.checkpoint ? prev.checkpoints[decision.checkpoint] : undefined;
      if (!target || target.status === 'pruned') return prev;
      draft.pendingPrunes[target.id] = event.seq;
      return state;
    }
    case 'CheckpointPruned': {
      if (data.checkpoint in prev.pendingPrunes) delete draft.pendingPrunes[data.checkpoint];
      const current = prev.checkpoints[data.checkpoint];
      if (!current || current.status === 'pruned') return state;
      draft.entry(current.id)!.status = 'pruned';
      const refs = draft.blobRefs;
      for (const blob of current.blobs) {
        const left = (refs[blob] ?? 1) - 1;
        if (left > 0) refs[blob] = left;
        else delete refs[blob];
      }
      recomputeViews(state);
      return state;
    }
    case 'CheckpointCorrupted':
    case 'CheckpointMissing': {
      const current = prev.checkpoints[data.checkpoint];
      if (!current || current.status === 'pruned') return prev;
      draft.entry(current.id)!.fault = { blob: data.blob, detail: data.detail ?? 'missing', seq: event.seq };
      if (setStatus(current.id, event.type === 'CheckpointMissing' ? 'missing' : 'corrupt')) recomputeViews(state);
      return state;
    }
    case 'CheckpointVerified':
      if (setStatus(data.checkpoint, 'kept')) recomputeViews(state);
      return state;
    case 'CheckpointTagged': {
      const entry = draft.entry(data.checkpoint);
      if (!entry) return prev;
      for (const tag of data.tags ?? []) if (!entry.tags.includes(tag)) entry.tags.push(tag);
      if (data.description !== undefined) entry.description = data.description;
      return state;
    }
    case 'CheckpointPinned':
    case 'CheckpointUnpinned': {
      const entry = draft.entry(data.checkpoint);
      if (!entry) return prev;
      entry.pinned = event.type === 'CheckpointPinned';
      // A pin cancels a prune still pending for it, so unpinning later does not resurrect that old intent.
      if (entry.pinned && entry.id in prev.pendingPrunes) delete draft.pendingPrunes[entry.id];
      return state;
    }
    case 'BackupVerified': {
      const entry = draft.entry(data.checkpoint);
      if (!entry) return prev;
      if (!entry.backups.includes(data.target)) entry.backups.push(data.target);
      return state;
    }
    case 'CheckpointImported': {
      const entry = draft.entry(data.checkpoint);
      if (!entry) return prev;
      entry.importedFrom = `${data.originalId} from ${data.from}`;
      return state;
    }
    default:
      return prev;
  }
}

// Pure: the previous state is never mutated (the ledger may still hold it); see Draft.
function evolve(state: CatalogState, event: LedgerEvent): CatalogState {
  return apply(state, event);
}

/** The catalog projection, registered on every workspace ledger. */
export const catalogProjection: Projection<CatalogState> = {
  name: CATALOG,
  version: 1,
  init: () => ({
    checkpoints: {},
    order: [],
    blobRefs: {},
    nextId: 1,
    latest: null,
    latestByRun: {},
    best: {},
    modes: {},
    primaryMonitor: null,
    pendingPrunes: {},
  }),
  evolve,
};
