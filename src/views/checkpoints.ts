/**
 * Checkpoint views: `ckpt ls`, `ckpt show`, `ckpt best`, `ckpt latest` (and /api/checkpoints).
 */
import type { CatalogEntry, CatalogState, CheckpointStatus, MonitorMode, TrailEntry } from '../projections/catalog.js';
import { itemsOf } from '../projections/append-only.js';
import { trailOf } from './trail.js';
import { bestOf, latestOf, modeOf, primaryMonitor, resolveRef } from '../store/refs.js';

export interface CheckpointListRow {
  id: string;
  run: string;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
  weightsDigest: string;
  status: CheckpointStatus;
  bytes: { logical: number; new: number };
  tags: string[];
  description?: string;
  pinned: boolean;
  labels: string[];
  committedAt: number;
  /** `best:<metric>` for every monitor this checkpoint is best at, and `latest`. */
  marks: string[];
}

/** Marks per checkpoint id: best per monitored metric, and latest. */
export function checkpointMarks(state: CatalogState): Map<string, string[]> {
  const marks = new Map<string, string[]>();
  const add = (id: string | undefined, mark: string) => {
    if (!id) return;
    marks.set(id, [...(marks.get(id) ?? []), mark]);
  };
  const monitors = Object.keys(state.monitors);
  const primary = primaryMonitor(state);
  if (primary && !monitors.includes(primary)) monitors.unshift(primary);
  for (const metric of monitors) add(bestOf(state, metric)?.id, `best:${metric}`);
  add(latestOf(state)?.id, 'latest');
  return marks;
}

function toRow(c: CatalogEntry, marks: Map<string, string[]>): CheckpointListRow {
  const row: CheckpointListRow = {
    id: c.id, run: c.run, epoch: c.epoch, step: c.step, metrics: c.metrics, weightsDigest: c.weightsDigest, status: c.status,
    bytes: c.bytes, tags: c.tags, pinned: c.pinned, labels: c.labels, committedAt: c.at, marks: marks.get(c.id) ?? [],
  };
  if (c.description !== undefined) row.description = c.description;
  return row;
}

/**
 * Checkpoints in commit order; pruned ones only with `all` (their history survives pruning).
 * @example listCheckpoints(state, { all: true }).map((r) => `${r.id} ${r.status}`)
 */
export function listCheckpoints(state: CatalogState, options: { all?: boolean; run?: string } = {}): CheckpointListRow[] {
  const marks = checkpointMarks(state);
  return state.order
    .map((id) => state.checkpoints[id])
    .filter((c) => (options.all || c.status !== 'pruned') && (!options.run || c.run === options.run))
    .map((c) => toRow(c, marks));
}

export interface CheckpointDetail extends CheckpointListRow {
  manifest: string;
  blobs: number;
  objects: string[];
  trainer: string;
  backend: string;
  committedSeq: number;
  decisionSeq?: number;
  /** Where it came from: the run's checkpoints before it, the checkpoint the run resumed from, an import. */
  lineage: { previous?: string; resumedFrom?: string; importedFrom?: { originalId: string; from: string } };
  exports: { format: string; path: string; seq: number }[];
  backups: { target: string; seq: number; ok: boolean }[];
  trail: TrailEntry[];
}

/**
 * Everything known about one checkpoint (`ckpt show <ref>`).
 * @example showCheckpoint(state, 'latest').weightsDigest
 */
export function showCheckpoint(state: CatalogState, ref: string): CheckpointDetail {
  const c = resolveRef(state, ref);
  const sameRun = state.order.map((id) => state.checkpoints[id]).filter((x) => x.run === c.run && x.seq < c.seq);
  const resumed = itemsOf(state.log).filter((e) => e.kind === 'resume' && e.run === c.run && e.seq < c.seq && e.checkpoint).pop();
  const lineage: CheckpointDetail['lineage'] = {};
  if (sameRun.length) lineage.previous = sameRun[sameRun.length - 1].id;
  if (resumed?.checkpoint) lineage.resumedFrom = resumed.checkpoint;
  if (c.importedFrom) lineage.importedFrom = c.importedFrom;
  const detail: CheckpointDetail = {
    ...toRow(c, checkpointMarks(state)), manifest: c.manifest, blobs: c.blobs.length, objects: c.objects, trainer: c.trainer,
    backend: c.backend, committedSeq: c.seq, lineage, exports: c.exports, backups: c.backups, trail: trailOf(state, c),
  };
  if (c.decisionSeq !== undefined) detail.decisionSeq = c.decisionSeq;
  return detail;
}

export interface BestAnswer {
  monitor: string;
  mode: MonitorMode;
  value: number;
  checkpoint: CheckpointListRow;
}

/**
 * The best kept checkpoint by a metric (default: the primary monitor), resolved like the ref `[<run>/]best[:<m>]`
 * (so it fails with the resolver's codes: CLI_REF_UNKNOWN, STORE_CORRUPT, ...).
 * @example bestView(state, { monitor: 'val_acc' }).checkpoint.id
 */
export function bestView(state: CatalogState, options: { monitor?: string; run?: string } = {}): BestAnswer {
  const best = resolveRef(state, { kind: 'best', metric: options.monitor, run: options.run });
  const monitor = options.monitor ?? primaryMonitor(state)!;
  return { monitor, mode: modeOf(state, monitor)!, value: best.metrics[monitor], checkpoint: toRow(best, checkpointMarks(state)) };
}

/** The newest kept checkpoint (of one run), resolved like the ref `[<run>/]latest`. */
export function latestView(state: CatalogState, options: { run?: string } = {}): CheckpointListRow {
  return toRow(resolveRef(state, { kind: 'latest', run: options.run }), checkpointMarks(state));
}
