/**
 * `ckpt why <ref>`: why a checkpoint exists, whether it is best or latest and against what, or why it was
 * pruned — the chain of ledger events that decided it, in order, with the numbers.
 */
import type { CatalogState, CheckpointStatus, MonitorMode, TrailEntry } from '../projections/catalog.js';
import { trailOf } from './trail.js';
import { latestOf, modeOf, primaryMonitor, rankedBy, resolveRef } from '../store/refs.js';

export interface BestStanding {
  monitor: string;
  mode: MonitorMode;
  value: number | null;
  isBest: boolean;
  /** The current best for this monitor (itself when isBest). */
  bestId: string | null;
  bestValue: number | null;
  /** Runner-up when this one is best: what it beat. */
  runnerUp?: { id: string; value: number };
}

export interface WhyAnswer {
  id: string;
  run: string;
  epoch: number;
  status: CheckpointStatus;
  pinned: boolean;
  isLatest: boolean;
  best: BestStanding[];
  /** Plain sentences, most important first. */
  summary: string[];
  /** Every event that concerned the checkpoint, oldest first. */
  chain: TrailEntry[];
}

const f4 = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(4) : 'n/a');

/**
 * @example whyCheckpoint(state, 'best').summary[0] // 'ckpt-4 was saved at epoch 4 because val_loss improved ...'
 */
export function whyCheckpoint(state: CatalogState, ref: string): WhyAnswer {
  const c = resolveRef(state, ref);
  const monitors = Object.keys(state.monitors);
  const primary = primaryMonitor(state);
  if (primary && !monitors.includes(primary)) monitors.unshift(primary);
  const best: BestStanding[] = monitors.flatMap((monitor) => {
    const mode = modeOf(state, monitor);
    if (!mode) return [];
    const ranked = rankedBy(state, monitor);
    const top = ranked[0];
    const value = typeof c.metrics[monitor] === 'number' ? c.metrics[monitor] : null;
    const standing: BestStanding = { monitor, mode, value, isBest: top?.id === c.id, bestId: top?.id ?? null, bestValue: top ? top.metrics[monitor] : null };
    if (standing.isBest && ranked[1]) standing.runnerUp = { id: ranked[1].id, value: ranked[1].metrics[monitor] };
    return [standing];
  });

  const summary: string[] = [];
  const trail = trailOf(state, c);
  const saveEntry = trail.find((t) => t.type === 'SaveDecided');
  if (saveEntry) summary.push(`${c.id} was saved at epoch ${c.epoch} of ${c.run} because ${saveEntry.text.replace(/^SaveDecided \([^)]*\): /, '')}`);
  else if (c.importedFrom) summary.push(`${c.id} was imported from ${c.importedFrom.from} (originally ${c.importedFrom.originalId})`);
  else summary.push(`${c.id} was committed at epoch ${c.epoch} of ${c.run} without a recorded policy decision (manual or in-process save)`);
  for (const b of best) {
    if (b.isBest) {
      summary.push(`it is best by ${b.monitor} (${b.mode}): ${f4(b.value)}${b.runnerUp ? `, better than ${b.runnerUp.id} (${f4(b.runnerUp.value)})` : ', the only kept checkpoint with that metric'}`);
    } else if (b.value !== null && b.bestId) {
      summary.push(`it is not best by ${b.monitor}: ${f4(b.value)} vs ${b.bestId} (${f4(b.bestValue)})`);
    }
  }
  const isLatest = latestOf(state)?.id === c.id;
  if (isLatest) summary.push('it is the latest kept checkpoint');
  if (c.pinned) summary.push('it is pinned: retention never prunes it');
  if (c.status === 'pruned') {
    const intent = [...trail].reverse().find((t) => t.type === 'PruneIntended');
    summary.push(`it was pruned${intent ? `: ${intent.text.replace(/^PruneIntended \([^)]*\): /, '')}` : ''}`);
  }
  if (c.status === 'corrupt' || c.status === 'missing') summary.push(`it is ${c.status}: run \`ckpt verify ${c.id}\` for details; best/latest skip it`);
  return { id: c.id, run: c.run, epoch: c.epoch, status: c.status, pinned: c.pinned, isLatest, best, summary, chain: trail };
}
