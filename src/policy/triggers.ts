/**
 * Save triggers shared by epoch and batch events: step crossings, run-time intervals, the custom predicate,
 * tf's checkpoint_interval gate, and the list of saves waiting for their commit.
 */
import type { Metrics } from '../events.js';
import { append, cloneProgress, plural } from './state.js';
import { findKept } from './tracked.js';
import type { PolicyConfig, PolicyPendingSave, PolicyProgress, PolicyState, SavePredicate } from './types.js';

/** Why a save happens: the decision's rule, the label the checkpoint gets, a note for the reason. */
export type Trigger = { rule: string; label: string; note: string };

/**
 * tf.train.CheckpointManager `checkpoint_interval`: no save at the step of the last save, nor before N steps
 * after it (the first save always passes). Empties `triggers` (all but a save kept for restoreBestWeights,
 * which comes later) and returns the skip reason, or null when the save may go ahead.
 */
export function gate(state: PolicyState, step: number, interval: number, triggers: Trigger[]): string | null {
  const last = lastSaveStep(state);
  if (last === null || (step !== last && step >= last + interval)) return null;
  while (triggers.length !== 0) triggers.pop();
  return `step ${step}: ${step - last} of the ${plural(interval, 'step')} required since the last save at step ${last} (checkpoint_interval)`;
}

/** Step of the newest decided save (pending or committed), or null before the first. */
function lastSaveStep(state: PolicyState): number | null {
  if (state.pending.length > 0) return state.pending[state.pending.length - 1].step;
  const latest = state.latest === null ? undefined : findKept(state, state.latest);
  return latest ? latest.step : null;
}

/** Step crossings (sampled batches may skip the exact multiple) and run-time intervals; returns progress. */
export function stepAndTimeTriggers(progress: PolicyProgress, prev: PolicyProgress, step: number, at: number, config: PolicyConfig, triggers: Trigger[]): PolicyProgress {
  const n = config.everyNSteps;
  if (n !== null && Math.floor(step / n) > Math.floor(prev.step / n)) {
    triggers.push({ rule: 'everyNSteps', label: 'step', note: `every ${plural(n, 'step')}` });
  }
  if (config.atSteps.length > 0 && config.atSteps.some((s) => s > prev.step && s <= step)) {
    triggers.push({ rule: 'atSteps', label: 'step', note: `step ${config.atSteps.find((s) => s > prev.step && s <= step)} is listed` });
  }
  const secs = config.everyNSeconds;
  if (secs !== null) {
    const since = progress.timedSaveAt;
    // The clock went backwards (or no start seen): restart the interval from now, like tf.train.CheckpointManager.
    if (since === null || at < since) return withTimedSave(progress, at);
    if (at - since >= secs * 1000) {
      triggers.push({ rule: 'everyNSeconds', label: 'time', note: `${secs} s of run time since the last timed save` });
      return withTimedSave(progress, at);
    }
  }
  return progress;
}

/** Saves waiting for their commit; bounded, since saves commit in order and old ones that never did are lost. */
const MAX_PENDING = 16;
export function withPending(pending: readonly PolicyPendingSave[], save: PolicyPendingSave): PolicyPendingSave[] {
  if (pending.length < MAX_PENDING) return append(pending, save);
  const next = pending.slice(pending.length - MAX_PENDING + 1);
  next.push(save);
  return next;
}

function withTimedSave(progress: PolicyProgress, at: number): PolicyProgress {
  const p = cloneProgress(progress);
  p.timedSaveAt = at;
  return p;
}

export function predicateTrigger(predicate: SavePredicate, type: 'EpochEnded' | 'BatchEnded', epoch: number, step: number, metrics: Metrics, state: PolicyState, progress: PolicyProgress, triggers: Trigger[], config: PolicyConfig): string | null {
  const best: Record<string, number | null> = {};
  for (let i = 0; i < config.monitors.length; i++) best[config.monitors[i].metric] = progress.monitors[i].best;
  const latest = state.latest === null ? undefined : findKept(state, state.latest);
  const last = latest ? latest.epoch : null;
  let answer: ReturnType<SavePredicate>;
  try {
    answer = predicate({ type, epoch, step, metrics, best, lastSavedEpoch: last, lastSavedStep: latest ? latest.step : null });
  } catch (error) {
    // A throwing predicate must not take the run down: record it and decide as if it said no.
    return `save predicate threw at step ${step}: ${(error as Error)?.message ?? String(error)}; not saving for it`;
  }
  if (answer) triggers.push({ rule: 'predicate', label: 'predicate', note: typeof answer === 'string' ? answer : 'custom predicate' });
  return null;
}

