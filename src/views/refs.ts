/**
 * Checkpoint references, resolved against the read model: a checkpoint id, `latest`, `best`, `best:<metric>`,
 * `epoch:<N>`, and any of those behind a run prefix (`run-2/latest`, `run-2/best:val_acc`). `best` and `latest`
 * only consider checkpoints that are still kept (not pruned, corrupt or missing).
 */
import { CkptError } from '../errors.js';
import { betterThan, autoMetricMode } from './mode.js';
import type { CheckpointView, ViewState } from './types.js';

/** The metric `best` means when no metric is named: the first run's monitor, else val_loss, else loss. */
export function primaryViewMonitor(state: ViewState): string | undefined {
  const named = Object.keys(state.monitors)[0];
  if (named) return named;
  const metrics = new Set(state.order.flatMap((id) => Object.keys(state.checkpoints[id].metrics)));
  for (const candidate of ['val_loss', 'loss']) if (metrics.has(candidate)) return candidate;
  return [...metrics][0];
}

/** 'min' or 'max' for a metric, from the policies that monitored it or the Keras auto rule. */
export function monitorModeOf(state: ViewState, metric: string): 'min' | 'max' {
  return state.monitors[metric] ?? autoMetricMode(metric);
}

/** Kept checkpoints, oldest first, optionally of one run. */
export function keptViewCheckpoints(state: ViewState, run?: string): CheckpointView[] {
  return state.order.map((id) => state.checkpoints[id]).filter((c) => c.status === 'kept' && (!run || c.run === run));
}

/**
 * The kept checkpoint with the best value of `metric` (ties: the earlier one), or undefined.
 * @example bestKeptCheckpoint(state, 'val_loss')?.id // 'ckpt-4'
 */
export function bestKeptCheckpoint(state: ViewState, metric = primaryViewMonitor(state), run?: string): CheckpointView | undefined {
  if (!metric) return undefined;
  const mode = monitorModeOf(state, metric);
  let best: CheckpointView | undefined;
  for (const c of keptViewCheckpoints(state, run)) {
    const value = c.metrics[metric];
    if (typeof value !== 'number' || Number.isNaN(value)) continue;
    if (!best || betterThan(value, best.metrics[metric], mode)) best = c;
  }
  return best;
}

/** The newest kept checkpoint (of one run when given). */
export function latestKeptCheckpoint(state: ViewState, run?: string): CheckpointView | undefined {
  const kept = keptViewCheckpoints(state, run);
  return kept[kept.length - 1];
}

/**
 * Resolve a ref to a checkpoint, or throw CkptError('CLI_REF_UNKNOWN').
 * @example resolveViewRef(state, 'best:val_acc').id // 'ckpt-5'
 * @example resolveViewRef(state, 'run-1/epoch:3').epoch // 3
 */
export function resolveViewRef(state: ViewState, ref: string): CheckpointView {
  const found = tryResolveViewRef(state, ref);
  if (!found) {
    throw new CkptError('CLI_REF_UNKNOWN', `no checkpoint matches "${ref}"; refs are an id, best, best:<metric>, latest, epoch:<N>, <run>/latest — list them with \`ckpt ls --all\``, { details: { ref } });
  }
  return found;
}

/** Like resolveViewRef but returns undefined instead of throwing. */
export function tryResolveViewRef(state: ViewState, ref: string): CheckpointView | undefined {
  const trimmed = ref.trim();
  if (Object.hasOwn(state.checkpoints, trimmed)) return state.checkpoints[trimmed];
  let run: string | undefined;
  let rest = trimmed;
  const slash = trimmed.lastIndexOf('/');
  if (slash > 0) {
    run = trimmed.slice(0, slash);
    rest = trimmed.slice(slash + 1);
    if (!state.runs[run] && !state.order.some((id) => state.checkpoints[id].run === run)) return undefined;
  }
  if (rest === 'latest') return latestKeptCheckpoint(state, run);
  if (rest === 'best') return bestKeptCheckpoint(state, primaryViewMonitor(state), run);
  if (rest.startsWith('best:')) return bestKeptCheckpoint(state, rest.slice(5), run);
  const epochMatch = /^epoch:(\d+)$/.exec(rest);
  if (epochMatch) {
    const epoch = Number(epochMatch[1]);
    const all = state.order.map((id) => state.checkpoints[id]).filter((c) => c.epoch === epoch && (!run || c.run === run));
    return all.filter((c) => c.status === 'kept').pop() ?? all.pop();
  }
  return undefined;
}
