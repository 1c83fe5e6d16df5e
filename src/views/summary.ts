/**
 * `ckpt summary` (and /api/summary): counts, logical vs physical bytes, dedupe ratio, best, latest, runs,
 * crashes and resumes.
 */
import { bestView, latestView, type BestAnswer, type CheckpointListRow } from './checkpoints.js';
import { itemsOf } from '../projections/append-only.js';
import type { CatalogState, RunStatus } from '../projections/catalog.js';
import { latestOf } from '../store/refs.js';

export interface SummaryView {
  lastSeq: number;
  checkpoints: { total: number; kept: number; pruned: number; corrupt: number; missing: number; pinned: number };
  /** logical: bytes the kept checkpoints reference; physical: bytes the store holds for them. */
  bytes: { logical: number; physical: number; dedupeRatio: number | null };
  best: BestAnswer | null;
  latest: CheckpointListRow | null;
  runs: { id: string; status: RunStatus; trainer: string; epoch: number; epochs: number; checkpoints: number; crashes: number; resumes: number }[];
  crashes: number;
  resumes: number;
  decisions: Record<string, number>;
}

/**
 * @example summaryView(state).bytes.dedupeRatio // 1.9 = logical bytes / physical bytes
 */
export function summaryView(state: CatalogState): SummaryView {
  const all = state.order.map((id) => state.checkpoints[id]);
  const count = (status: string) => all.filter((c) => c.status === status).length;
  const live = all.filter((c) => c.status !== 'pruned');
  const logical = live.reduce((sum, c) => sum + c.bytes.logical, 0);
  const physical = Math.max(0, state.physicalBytes);
  const runs = state.runOrder.map((id) => state.runs[id]).map((r) => ({
    id: r.id, status: r.status, trainer: r.trainer, epoch: r.epoch, epochs: r.epochs, checkpoints: r.checkpoints, crashes: r.crashes, resumes: r.resumes,
  }));
  const decisions: Record<string, number> = {};
  for (const d of itemsOf(state.decisions)) decisions[d.kind] = (decisions[d.kind] ?? 0) + 1;
  return {
    lastSeq: state.lastSeq,
    checkpoints: { total: all.length, kept: count('kept'), pruned: count('pruned'), corrupt: count('corrupt'), missing: count('missing'), pinned: live.filter((c) => c.pinned).length },
    bytes: { logical, physical, dedupeRatio: physical > 0 ? logical / physical : null },
    best: orNull(() => bestView(state)),
    latest: latestOf(state) ? latestView(state) : null,
    runs,
    crashes: runs.reduce((s, r) => s + r.crashes, 0),
    resumes: runs.reduce((s, r) => s + r.resumes, 0),
    decisions,
  };
}

/** A view's answer, or null when its ref does not resolve (a summary reports what exists). */
function orNull<T>(view: () => T): T | null {
  try {
    return view();
  } catch {
    return null;
  }
}
