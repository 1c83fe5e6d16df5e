/** BatchEnded → save / warn decisions (no skips): step, time and predicate triggers, Keras' save_best_only on batches. */
import type { BatchEnded, Decision, Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { formatValue, isImprovement, showChange } from './mode.js';
import { terminateOnNaN } from './early-stopping.js';
import { cloneProgress, cloneState, decision } from './state.js';
import { gate, predicateTrigger, stepAndTimeTriggers, withPending, type Trigger } from './triggers.js';
import type { PolicyConfig, PolicyState, PolicyProgress, SavePredicate } from './types.js';

/**
 * Decide on a (sampled) BatchEnded event: step triggers, timed saves, the predicate, NaN loss. No skips.
 * @example onBatchEnded(state, event, parsePolicyConfig({ everyNSteps: 100 }), undefined)
 */
export function onBatchEnded(state: PolicyState, event: LedgerEvent<BatchEnded>, config: PolicyConfig, predicate: SavePredicate | undefined): { state: PolicyState; decisions: Decision[] } {
  const { epoch, step, metrics, run } = event.data;
  const prev = state.progress;
  if (config.terminateOnNaN && !prev.stopped) {
    const stop = terminateOnNaN(metrics, event.seq, run, epoch, step, event.data.batch);
    if (stop) return { state: { ...state, progress: { ...prev, step, stopped: true } }, decisions: [stop] };
  }
  if (config.everyNSteps === null && config.atSteps.length === 0 && config.everyNSeconds === null && !predicate) {
    return { state: prev.step === step ? state : { ...state, progress: { ...prev, step } }, decisions: [] };
  }
  const triggers: Trigger[] = [];
  const stepped = cloneProgress(prev);
  stepped.step = step;
  let progress = stepAndTimeTriggers(stepped, prev, step, event.at, config, triggers);
  const warned: Decision[] = [];
  let improved = '';
  const next = cloneState(state);
  if (config.saveBestOnly && config.everyNEpochs === null && triggers.length > 0 && triggers[0].rule === 'everyNSteps') {
    // Keras 3 ModelCheckpoint with save_best_only and an integer save_freq: every N batches, judge the monitor in
    // the batch logs; save on an improvement or when the monitor is missing (with a warning), else do not save.
    const judged = batchBestOnly(state, progress, config, metrics, event.seq, run, epoch, step, warned);
    progress = judged.progress;
    next.warned = judged.warnedMonitors;
    improved = judged.improved;
    if (judged.save) {
      for (const label of judged.labels) triggers.push({ rule: 'everyNSteps', label, note: '' });
    } else triggers.shift();
  }
  const predicateError = predicate ? predicateTrigger(predicate, 'BatchEnded', epoch, step, metrics, state, progress, triggers, config) : null;
  if (predicateError) warned.push(decision('warn', event.seq, 'predicate', predicateError, { run, epoch, step }));
  if (config.minStepsBetweenSaves !== null && triggers.length > 0) gate(state, step, config.minStepsBetweenSaves, triggers);
  next.progress = progress;
  if (triggers.length === 0) return { state: next, decisions: warned };
  const labels = [...new Set(triggers.map((t) => t.label).filter((l) => l !== ''))];
  if (config.saveLast === 'link') labels.push('last');
  const notes = triggers.map((t) => t.note).filter((n) => n !== '').join(', ');
  const reason = improved ? `${improved}, saving checkpoint (${notes})` : `step ${step}: saving checkpoint (${notes})`;
  const d = decision('save', event.seq, triggers[0].rule, reason, { run, epoch, step, labels });
  next.pending = withPending(state.pending, { epoch, step, causeSeq: event.seq, labels, progress });
  warned.push(d);
  return { state: next, decisions: warned };
}

/**
 * Keras' save_best_only on a batch: improvements update the monitors' bests (the caller's `progress` copy is
 * replaced, never changed). `save` when some monitor improved or one is missing.
 */
function batchBestOnly(state: PolicyState, progress: PolicyProgress, config: PolicyConfig, metrics: Metrics, seq: number, run: string, epoch: number, step: number, warnings: Decision[]): { progress: PolicyProgress; save: boolean; labels: string[]; improved: string; warnedMonitors: string[] } {
  let monitors = progress.monitors;
  let warnedMonitors = state.warned;
  const labels: string[] = [];
  const texts: string[] = [];
  let save = false;
  for (let i = 0; i < config.monitors.length; i++) {
    const m = config.monitors[i];
    const value = metrics[m.metric];
    const mp = monitors[i];
    if (value === undefined) {
      save = true;
      if (!warnedMonitors.includes(m.metric)) {
        warnedMonitors = [...warnedMonitors, m.metric];
        const present = Object.keys(metrics);
        warnings.push(decision('warn', seq, 'missingMonitor',
          `${m.metric} is not among the batch metrics (${present.length ? present.join(', ') : 'none'}); saving, as Keras 3 does when save_best_only cannot judge`,
          { run, epoch, step, monitor: m.metric, value: null }));
      }
      continue;
    }
    const reference = mp.best ?? m.initialValueThreshold;
    if (!isImprovement(value, reference, m.mode, m.minDelta)) continue;
    const shown = formatValue(value);
    const [from, to] = showChange(reference, value, mp.shown, shown);
    texts.push(`${m.metric} improved from ${from} to ${to}`);
    labels.push(`best:${m.metric}`);
    if (monitors === progress.monitors) monitors = monitors.slice();
    monitors[i] = { best: value, bestEpoch: epoch, shown, nonFinite: mp.nonFinite };
    save = true;
  }
  const next = monitors === progress.monitors ? progress : { ...cloneProgress(progress), monitors };
  return { progress: next, save, labels, improved: texts.join(' and '), warnedMonitors };
}
