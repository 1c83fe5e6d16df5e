/**
 * `ckpt log` (the audit trail) and /api/decisions: decisions and facts in ledger order, filterable.
 */
import { itemsOf } from '../projections/append-only.js';
import type { CatalogState, DecisionRecord, LogEntry } from '../projections/catalog.js';

export interface LogFilter {
  run?: string;
  /** Keep only these kinds (`save`, `skip`, `prune`, `commit`, `crash`, ...). */
  kinds?: readonly string[];
  /** Only entries after this seq. */
  afterSeq?: number;
}

/** True when a log entry passes the filter (also used for live `--follow` lines). */
export function matchesLogFilter(entry: LogEntry, filter: LogFilter = {}): boolean {
  if (filter.afterSeq !== undefined && entry.seq <= filter.afterSeq) return false;
  if (filter.run && entry.run !== undefined && entry.run !== filter.run) return false;
  if (filter.run && entry.run === undefined && entry.checkpoint === undefined) return false;
  if (filter.kinds?.length && !filter.kinds.includes(entry.kind)) return false;
  return true;
}

/**
 * The audit trail: every decision with its reason and numbers, plus commits, prunes, crashes and resumes.
 * @example logView(state, { run: 'run-1', kinds: ['save', 'skip'] })
 */
export function logView(state: CatalogState, filter: LogFilter = {}): LogEntry[] {
  const runOfCheckpoint = (id?: string) => (id ? state.checkpoints[id]?.run : undefined);
  return itemsOf(state.log).filter((e) => {
    if (filter.run && e.run === undefined && runOfCheckpoint(e.checkpoint) !== filter.run) return false;
    return matchesLogFilter(filter.run && e.run === undefined ? { ...e, run: runOfCheckpoint(e.checkpoint) } : e, filter);
  });
}

/**
 * Policy decisions only, as recorded (the Decision fields plus seq/at/type).
 * @example decisionsView(state, { kinds: ['prune'] }).map((d) => d.checkpoint)
 */
export function decisionsView(state: CatalogState, filter: LogFilter = {}): DecisionRecord[] {
  return itemsOf(state.decisions).filter((d) =>
    (filter.run === undefined || d.run === filter.run) &&
    (!filter.kinds?.length || filter.kinds.includes(d.kind)) &&
    (filter.afterSeq === undefined || d.seq > filter.afterSeq));
}

/** Runs in start order (for /api/runs and `ckpt summary`). */
export function runsView(state: CatalogState) {
  return state.runOrder.map((id) => state.runs[id]);
}
