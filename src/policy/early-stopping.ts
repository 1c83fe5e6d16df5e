/**
 * Early stopping with Keras EarlyStopping semantics (patience, min_delta, baseline, start_from_epoch,
 * restore_best_weights), a `restore` decision that names a real checkpoint, and TerminateOnNaN.
 */
import type { Decision, EpochEnded, Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { formatValue, isImprovement } from './mode.js';
import { decision, plural } from './state.js';
import { bestOverall, checkpointOfEpoch } from './tracked.js';
import type { PolicyConfig, PolicyState, PolicyProgress } from './types.js';

export type EarlyStoppingOutcome = {
  /** The monitor improved and restoreBestWeights is on: this epoch must be saved. */
  forceSave: boolean;
  decisions: Decision[];
  apply(state: PolicyState): PolicyState;
};

const identity = (s: PolicyState): PolicyState => s;
const NONE: Decision[] = [];
// Shared outcomes for the common epochs: nothing to decide (the progress is updated in place).
const QUIET: EarlyStoppingOutcome = { forceSave: false, decisions: NONE, apply: identity };
const FORCE_SAVE: EarlyStoppingOutcome = { forceSave: true, decisions: NONE, apply: identity };

/**
 * One epoch of early stopping; `progress` must be a fresh copy the caller owns (it is updated in place).
 * Keras order: ignore epochs before startFromEpoch, count the epoch, reset the counter on an improvement that
 * also beats the baseline, stop once the counter reaches patience (not on epoch 1).
 * @example evaluateEarlyStopping(state, progress, epochEvent, config).decisions // [] or [stop, restore]
 */
export function evaluateEarlyStopping(state: PolicyState, progress: PolicyProgress, event: LedgerEvent<EpochEnded>, config: PolicyConfig): EarlyStoppingOutcome {
  const es = config.earlyStopping;
  if (es === null || progress.es === null || progress.stopped) return QUIET;
  const { epoch, step, metrics, run } = event.data;
  const value = metrics[es.monitor];
  if (value === undefined || epoch <= es.startFromEpoch) return QUIET;
  const p = progress.es;
  if (es.restoreBestWeights && p.bestEpoch === null && !isImprovement(value, p.best, es.mode, es.minDelta)) {
    // Keras 3 EarlyStopping.on_epoch_end: the first epoch it considers holds the reference weights even when the
    // monitor does not improve (NaN from the start), so there is always an epoch to restore: save it.
    const wait = p.wait + 1;
    progress.es = { best: p.best, bestEpoch: epoch, wait };
    if (wait < es.patience || epoch <= 1) return FORCE_SAVE;
    progress.stopped = true;
    const out = stop(state, progress, event.seq, run, epoch, step, value, config);
    return { forceSave: true, decisions: out.decisions, apply: out.apply };
  }
  if (isImprovement(value, p.best, es.mode, es.minDelta)) {
    const beatsBaseline = es.baseline === null || isImprovement(value, es.baseline, es.mode, es.minDelta);
    // Keras: an improvement never stops training; it resets the counter only if it also beats the baseline.
    const next = { best: value, bestEpoch: epoch, wait: beatsBaseline ? 0 : p.wait + 1 };
    progress.es = next;
    return es.restoreBestWeights ? FORCE_SAVE : QUIET;
  }
  const wait = p.wait + 1;
  progress.es = { best: p.best, bestEpoch: p.bestEpoch, wait };
  if (wait < es.patience || epoch <= 1) return QUIET;
  progress.stopped = true;
  return stop(state, progress, event.seq, run, epoch, step, value, config);
}

function stop(state: PolicyState, progress: PolicyProgress, seq: number, run: string, epoch: number, step: number, value: number, config: PolicyConfig): EarlyStoppingOutcome {
  const forceSave = false;
  const es = config.earlyStopping!;
  const p = progress.es!;
  const baselineMissed = es.baseline !== null && (p.best === null || !isImprovement(p.best, es.baseline, es.mode, es.minDelta));
  const what = baselineMissed
    ? `${es.monitor} did not beat the baseline ${formatValue(es.baseline)} in ${plural(p.wait, 'epoch')}`
    : `${es.monitor} did not improve for ${plural(p.wait, 'epoch')}`;
  const numbers = { run, epoch, step, monitor: es.monitor, value, previous: p.best, threshold: es.baseline, delta: es.minDelta };
  if (!es.restoreBestWeights || p.bestEpoch === null) {
    const best = p.best === null ? '' : ` (best ${formatValue(p.best)} at epoch ${p.bestEpoch})`;
    return { forceSave, decisions: [decision('stop', seq, 'earlyStopping', `early stop: ${what}${best}`, numbers)], apply: identity };
  }
  const stopDecision = decision('stop', seq, 'earlyStopping', `early stop: ${what}; restoring epoch ${p.bestEpoch} (best)`, numbers);
  // Decided at the stop (training ends with it); onTrainingEnded restores for every other end (Keras 3 restores in
  // on_train_end however training ended).
  const restore = restoreDecision(state, config, seq, run, p.bestEpoch, p.best, 'restoreBestWeights');
  if (restore.decision) return { forceSave, decisions: [stopDecision, restore.decision], apply: identity };
  const pendingRestore = { epoch: p.bestEpoch, causeSeq: seq, rule: 'restoreBestWeights' };
  return { forceSave, decisions: [stopDecision], apply: (s) => ({ ...s, pendingRestore }) };
}

/**
 * The `restore` decision for the best epoch: its checkpoint when committed; nothing (the caller waits) when its
 * save is still pending; otherwise the best available checkpoint with a reason saying why, or a warning.
 * @example restoreDecision(state, config, 42, 'run-1', 12, 0.2981, 'restoreBestWeights').decision?.checkpoint // 'ckpt-12'
 */
export function restoreDecision(state: PolicyState, config: PolicyConfig, seq: number, run: string | undefined, epoch: number, best: number | null, rule: string): { decision?: Decision } {
  const monitor = config.earlyStopping && rule === 'restoreBestWeights' ? config.earlyStopping.monitor : config.monitors[0].metric;
  const target = checkpointOfEpoch(state, epoch);
  const numbers = { run, epoch, monitor, value: best };
  if (target) {
    const what = best === null ? `${monitor} never improved; the first epoch monitored is the reference, as in Keras 3` : `${monitor} ${formatValue(best)}, best`;
    return { decision: decision('restore', seq, rule, `restoring ${target.id} (epoch ${epoch}, ${what})`, { ...numbers, checkpoint: target.id, step: target.step }) };
  }
  if (state.pending.some((p) => p.epoch === epoch)) return {};
  const i = config.monitors.findIndex((m) => m.metric === monitor);
  const fallback = i >= 0 ? bestOverall(state, i, config.monitors[i]) : undefined;
  if (fallback) {
    return { decision: decision('restore', seq, rule,
      `epoch ${epoch} (best) has no available checkpoint; restoring ${fallback.id} (epoch ${fallback.epoch}, best available by ${monitor})`,
      { ...numbers, checkpoint: fallback.id, epoch: fallback.epoch, step: fallback.step, value: fallback.values[i] }) };
  }
  return { decision: decision('warn', seq, rule, `cannot restore epoch ${epoch} (best): no checkpoint of it is available`, numbers) };
}

/**
 * Keras TerminateOnNaN: a `stop` when `loss` is NaN or ±Infinity.
 * @example terminateOnNaN({ loss: NaN }, 7, 'run-1', 3, 300, 12)?.reason // 'loss is nan at epoch 3, batch 12; terminating training'
 */
export function terminateOnNaN(metrics: Metrics, seq: number, run: string, epoch: number, step: number, batch: number | null): Decision | null {
  const loss = metrics.loss;
  if (loss === undefined || Number.isFinite(loss)) return null;
  const where = batch === null ? `epoch ${epoch}` : `epoch ${epoch}, batch ${batch}`;
  return decision('stop', seq, 'terminateOnNaN', `loss is ${formatValue(loss)} at ${where}; terminating training`, { run, epoch, step, monitor: 'loss', value: loss });
}
