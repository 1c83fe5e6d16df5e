/**
 * `ckpt history`: per-epoch metrics with what the policy decided (and /api/history).
 */
import type { DecisionKind } from '../events.js';
import { itemsOf } from '../projections/append-only.js';
import type { CatalogState, EpochRecord } from '../projections/catalog.js';

export interface EpochRow {
  run: string;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
  ms: number;
  at: number;
  decisions: DecisionKind[];
  checkpoint: string | null;
}

/**
 * Every ended epoch in ledger order (a resumed run repeats no epoch: a redone epoch replaces the earlier row).
 * @example historyView(state, { run: 'run-1' }).map((r) => r.metrics.val_loss)
 */
export function historyView(state: CatalogState, options: { run?: string } = {}): EpochRow[] {
  const epochs = itemsOf(state.epochs);
  const decided = new Map<number, DecisionKind[]>();
  for (const d of itemsOf(state.decisions)) {
    const kinds = decided.get(d.causeSeq) ?? [];
    if (!kinds.includes(d.kind)) kinds.push(d.kind);
    decided.set(d.causeSeq, kinds);
  }
  // A checkpoint belongs to the newest report of its run and epoch before its commit.
  const committed = new Map<EpochRecord, string>();
  for (const id of state.order) {
    const c = state.checkpoints[id];
    const cause = epochs.findLast((e) => e.run === c.run && e.epoch === c.epoch && e.seq < c.seq);
    if (cause) committed.set(cause, id);
  }
  const rows = new Map<string, EpochRow>();
  for (const e of epochs) {
    if (options.run && e.run !== options.run) continue;
    const key = `${e.run}\u0000${e.epoch}`;
    rows.delete(key);
    rows.set(key, { run: e.run, epoch: e.epoch, step: e.step, metrics: e.metrics, ms: e.ms, at: e.at, decisions: decided.get(e.seq) ?? [], checkpoint: committed.get(e) ?? null });
  }
  return [...rows.values()].sort((a, b) => (a.run === b.run ? a.epoch - b.epoch : state.runOrder.indexOf(a.run) - state.runOrder.indexOf(b.run)));
}

/** The metric names seen in the history, losses first. */
export function historyMetricNames(rows: readonly EpochRow[]): string[] {
  const names = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  const order = (n: string) => (n === 'loss' ? 0 : n === 'val_loss' ? 1 : n.startsWith('val_') ? 3 : 2);
  return [...names].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
}
