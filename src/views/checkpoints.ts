/**
 * Checkpoint views: `ckpt ls`, `ckpt show`, `ckpt best`, `ckpt latest` (and /api/checkpoints).
 */
import { bestKeptCheckpoint, latestKeptCheckpoint, monitorModeOf, primaryViewMonitor, resolveViewRef } from './refs.js';
import type { ViewCheckpointStatus, CheckpointView, TrailEntry, ViewState } from './types.js';

export interface CheckpointListRow {
  id: string;
  run: string;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
  weightsDigest: string;
  status: ViewCheckpointStatus;
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
export function checkpointMarks(state: ViewState): Map<string, string[]> {
  const marks = new Map<string, string[]>();
  const add = (id: string | undefined, mark: string) => {
    if (!id) return;
    marks.set(id, [...(marks.get(id) ?? []), mark]);
  };
  const monitors = Object.keys(state.monitors);
  const primary = primaryViewMonitor(state);
  if (primary && !monitors.includes(primary)) monitors.unshift(primary);
  for (const metric of monitors) add(bestKeptCheckpoint(state, metric)?.id, `best:${metric}`);
  add(latestKeptCheckpoint(state)?.id, 'latest');
  return marks;
}

function toRow(c: CheckpointView, marks: Map<string, string[]>): CheckpointListRow {
  const row: CheckpointListRow = {
    id: c.id, run: c.run, epoch: c.epoch, step: c.step, metrics: c.metrics, weightsDigest: c.weightsDigest, status: c.status,
    bytes: c.bytes, tags: c.tags, pinned: c.pinned, labels: c.labels, committedAt: c.committedAt, marks: marks.get(c.id) ?? [],
  };
  if (c.description !== undefined) row.description = c.description;
  return row;
}

/**
 * Checkpoints in commit order; pruned ones only with `all` (their history survives pruning).
 * @example listCheckpoints(state, { all: true }).map((r) => `${r.id} ${r.status}`)
 */
export function listCheckpoints(state: ViewState, options: { all?: boolean; run?: string } = {}): CheckpointListRow[] {
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
export function showCheckpoint(state: ViewState, ref: string): CheckpointDetail {
  const c = resolveViewRef(state, ref);
  const sameRun = state.order.map((id) => state.checkpoints[id]).filter((x) => x.run === c.run && x.committedSeq < c.committedSeq);
  const resumed = state.log.filter((e) => e.kind === 'resume' && e.run === c.run && e.seq < c.committedSeq && e.checkpoint).pop();
  const lineage: CheckpointDetail['lineage'] = {};
  if (sameRun.length) lineage.previous = sameRun[sameRun.length - 1].id;
  if (resumed?.checkpoint) lineage.resumedFrom = resumed.checkpoint;
  if (c.importedFrom) lineage.importedFrom = c.importedFrom;
  const detail: CheckpointDetail = {
    ...toRow(c, checkpointMarks(state)), manifest: c.manifest, blobs: c.blobs, objects: c.objects, trainer: c.trainer,
    backend: c.backend, committedSeq: c.committedSeq, lineage, exports: c.exports, backups: c.backups, trail: c.trail,
  };
  if (c.decisionSeq !== undefined) detail.decisionSeq = c.decisionSeq;
  return detail;
}

export interface BestAnswer {
  monitor: string;
  mode: 'min' | 'max';
  value: number;
  checkpoint: CheckpointListRow;
}

/**
 * The best kept checkpoint by a metric (default: the primary monitor), or null when none has that metric.
 * @example bestView(state, { monitor: 'val_acc' })?.checkpoint.id
 */
export function bestView(state: ViewState, options: { monitor?: string; run?: string } = {}): BestAnswer | null {
  const monitor = options.monitor ?? primaryViewMonitor(state);
  if (!monitor) return null;
  const best = bestKeptCheckpoint(state, monitor, options.run);
  if (!best) return null;
  return { monitor, mode: monitorModeOf(state, monitor), value: best.metrics[monitor], checkpoint: toRow(best, checkpointMarks(state)) };
}

/** The newest kept checkpoint (of one run), or null. */
export function latestView(state: ViewState, options: { run?: string } = {}): CheckpointListRow | null {
  const latest = latestKeptCheckpoint(state, options.run);
  return latest ? toRow(latest, checkpointMarks(state)) : null;
}
