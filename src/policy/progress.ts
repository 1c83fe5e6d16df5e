/**
 * Training progress → save / skip / warn decisions: epoch and step triggers, timed saves, listed epochs and
 * steps, save-best-only, a custom predicate, and best tracking per monitor.
 */
import type { BatchEnded, Decision, EpochEnded, Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { formatValue, isImprovement, showChange } from './mode.js';
import { evaluateEarlyStopping, terminateOnNaN } from './early-stopping.js';
import { append, cloneProgress, cloneState, decision, plural } from './state.js';
import { findKept } from './tracked.js';
import type { MonitorProgress, PolicyConfig, PolicyPendingSave, PolicyState, PolicyProgress, SavePredicate } from './types.js';

type Trigger = { rule: string; label: string; note: string };
type Improvement = { metric: string; value: number; previous: number | null; from: string; to: string };
// Scratch lists reused across calls (emptied before use, never kept in state or decisions; what escapes is an
// exact-size copy): fewer and smaller allocations per event. A list grown by push from `[]` gets room for 17.
// They are emptied by popping at each site (inlined by V8; `length = 0` is a runtime call).
const IMPROVEMENTS: Improvement[] = [];
const TRIGGERS: Trigger[] = [];
const LABELS: string[] = [];
/** The trigger of a plain every-epoch save (shared: it is only read). */
const EVERY_EPOCH: Trigger = { rule: 'everyNEpochs', label: 'epoch', note: 'every epoch' };
/** The trigger of a save-best-only improvement (its note is not shown: the reason names the improvement). */
const IMPROVED: Trigger = { rule: 'saveBestOnly', label: '', note: 'improved' };

/**
 * Decide on an EpochEnded event.
 * @example onEpochEnded(state, event, config, undefined).decisions[0].reason // 'val_loss improved from inf to 0.3120, saving checkpoint'
 */
export function onEpochEnded(state: PolicyState, event: LedgerEvent<EpochEnded>, config: PolicyConfig, predicate: SavePredicate | undefined): { state: PolicyState; decisions: Decision[] } {
  const { epoch, step, metrics } = event.data;
  const seq = event.seq;
  const run = event.data.run;
  const decisions: Decision[] = [];
  const prev = state.progress;
  if (config.terminateOnNaN && !prev.stopped) {
    const stop = terminateOnNaN(metrics, seq, run, epoch, step, null);
    if (stop) return { state: { ...state, progress: { ...prev, epoch, step, stopped: true } }, decisions: [stop] };
  }

  // Best tracking per monitor (checked on epochs where an epoch save could happen, like Keras' save_freq; with
  // save_best_only and an integer save_freq Keras checks on batches only).
  const checkEpoch = config.everyNEpochs === null ? !config.saveBestOnly : epoch % config.everyNEpochs === 0;
  // Copied on the first change only. (No local arrow helper here: tsx/esbuild's keepNames wraps every named
  // closure in a defineProperty call, which halves throughput on this path.)
  let monitors: MonitorProgress[] = prev.monitors;
  let copied = false;
  const improvements = IMPROVEMENTS;
  while (improvements.length !== 0) improvements.pop();
  let warned = state.warned;
  let missing: string | null = null;
  for (let i = 0; i < config.monitors.length; i++) {
    const m = config.monitors[i];
    const value = metrics[m.metric];
    if (value === undefined) {
      if (missing === null) missing = m.metric;
      if (!warned.includes(m.metric)) {
        warned = [...warned, m.metric];
        const present = Object.keys(metrics);
        decisions.push(decision('warn', seq, 'missingMonitor',
          `${m.metric} is not among the metrics (${present.length ? present.join(', ') : 'none'}); set monitor to one of them`,
          { run, epoch, step, monitor: m.metric, value: null }));
      }
      continue;
    }
    const mp = monitors[i];
    if (!Number.isFinite(value)) {
      if (!copied) { monitors = prev.monitors.slice(); copied = true; }
      monitors[i] = { best: mp.best, bestEpoch: mp.bestEpoch, shown: mp.shown, nonFinite: mp.nonFinite + 1 };
      decisions.push(decision('warn', seq, 'nonFinite',
        `${m.metric} is ${formatValue(value)} at epoch ${epoch}; recorded, never a best`,
        { run, epoch, step, monitor: m.metric, value, previous: mp.best }));
      continue;
    }
    if (!checkEpoch) continue;
    const reference = mp.best ?? m.initialValueThreshold;
    if (isImprovement(value, reference, m.mode, m.minDelta)) {
      const shown = formatValue(value);
      if (shown === mp.shown) {
        // Four decimals hide the change (0.31204 → 0.31201): widen both for the reason.
        const [from, to] = showChange(reference, value, mp.shown, shown);
        improvements.push({ metric: m.metric, value, previous: reference, from, to });
      } else improvements.push({ metric: m.metric, value, previous: reference, from: mp.shown, to: shown });
      if (!copied) { monitors = prev.monitors.slice(); copied = true; }
      monitors[i] = { best: value, bestEpoch: epoch, shown, nonFinite: mp.nonFinite };
    }
  }

  let progress: PolicyProgress = cloneProgress(prev);
  progress.epoch = epoch;
  progress.step = step;
  progress.monitors = monitors;
  const triggers = TRIGGERS;
  while (triggers.length !== 0) triggers.pop();
  if (checkEpoch && config.everyNEpochs !== null) {
    if (!config.saveBestOnly) {
      triggers.push(config.everyNEpochs === 1 ? EVERY_EPOCH : { rule: 'everyNEpochs', label: 'epoch', note: `every ${config.everyNEpochs} epochs` });
    } else if (improvements.length > 0) {
      triggers.push(IMPROVED);
    } else if (missing !== null) {
      // Keras 3 ModelCheckpoint._should_save_model: save_best_only without the monitor warns and saves.
      triggers.push({ rule: 'saveBestOnly', label: 'epoch', note: `${missing} is missing: saving, as Keras 3 does when it cannot judge` });
    }
  }
  if (config.atEpochs.length > 0 && config.atEpochs.includes(epoch)) triggers.push({ rule: 'atEpochs', label: 'epoch', note: `epoch ${epoch} is listed` });
  progress = stepAndTimeTriggers(progress, prev, step, event.at, config, triggers);
  const predicateError = predicate ? predicateTrigger(predicate, 'EpochEnded', epoch, step, metrics, state, progress, triggers, config) : null;
  if (predicateError) decisions.push(decision('warn', seq, 'predicate', predicateError, { run, epoch, step }));
  const gated = config.minStepsBetweenSaves !== null && triggers.length > 0 ? gate(state, step, config.minStepsBetweenSaves, triggers) : null;

  // Early stopping (may force a save of the best epoch so that restore can work, and may stop).
  const es = evaluateEarlyStopping(state, progress, event, config);
  if (es.forceSave) triggers.push({ rule: 'restoreBestWeights', label: `best:${config.earlyStopping!.monitor}`, note: 'kept for restore' });

  const primary = config.monitors[0];
  const pv = metrics[primary.metric];
  const value = pv === undefined ? null : pv;
  const previous = prev.monitors[0].best;
  const next = cloneState(state);
  next.progress = progress;
  next.warned = warned;
  let decided: Decision;
  if (triggers.length > 0) {
    // Loops rather than map/filter/join: this runs on every saved epoch.
    const scratch = LABELS;
    while (scratch.length !== 0) scratch.pop();
    for (let i = 0; i < improvements.length; i++) scratch.push(`best:${improvements[i].metric}`);
    let notes = '';
    let noteCount = 0;
    for (let i = 0; i < triggers.length; i++) {
      const t = triggers[i];
      if (t.label && !scratch.includes(t.label)) scratch.push(t.label);
      if (t !== IMPROVED) notes = noteCount++ > 0 ? `${notes}, ${t.note}` : t.note;
    }
    if (config.saveLast === 'link') scratch.push('last');
    let reason: string;
    if (improvements.length > 0) {
      let improved = improvedText(improvements[0]);
      for (let i = 1; i < improvements.length; i++) improved += ` and ${improvedText(improvements[i])}`;
      reason = `${improved}, saving checkpoint${noteCount > 0 ? ` (${notes})` : ''}`;
    } else {
      reason = `epoch ${epoch}${saveSuffix(notes)}`;
    }
    const labels = scratch.slice();
    decided = { kind: 'save', causeSeq: seq, rule: triggers[0].rule, reason, run, epoch, step, monitor: primary.metric, value, previous, delta: primary.minDelta, labels };
    next.pending = withPending(next.pending, { epoch, step, causeSeq: seq, labels, progress });
  } else {
    const reason = gated ?? skipReason(config, epoch, checkEpoch, improvements, prev, metrics);
    const rule = gated ? 'minStepsBetweenSaves' : skipRule(config, checkEpoch);
    decided = { kind: 'skip', causeSeq: seq, rule, reason, run, epoch, step, monitor: primary.metric, value, previous, delta: primary.minDelta };
  }
  // Usually the save or skip alone: an exact one-element list.
  if (decisions.length === 0 && es.decisions.length === 0) return { state: next, decisions: [decided] };
  decisions.push(decided);
  for (const d of es.decisions) decisions.push(d);
  if (es.decisions.length > 0) return { state: es.apply(next), decisions };
  return { state: next, decisions };
}

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

/**
 * tf.train.CheckpointManager `checkpoint_interval`: no save at the step of the last save, nor before N steps
 * after it (the first save always passes). Empties `triggers` (all but a save kept for restoreBestWeights,
 * which comes later) and returns the skip reason, or null when the save may go ahead.
 */
function gate(state: PolicyState, step: number, interval: number, triggers: Trigger[]): string | null {
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
function stepAndTimeTriggers(progress: PolicyProgress, prev: PolicyProgress, step: number, at: number, config: PolicyConfig, triggers: Trigger[]): PolicyProgress {
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

function predicateTrigger(predicate: SavePredicate, type: 'EpochEnded' | 'BatchEnded', epoch: number, step: number, metrics: Metrics, state: PolicyState, progress: PolicyProgress, triggers: Trigger[], config: PolicyConfig): string | null {
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

/** `: saving checkpoint (<notes>)`, remembered for the last notes (the same on every epoch of a run). */
let SUFFIX_NOTES = '';
let SUFFIX = ': saving checkpoint ()';
function saveSuffix(notes: string): string {
  if (notes !== SUFFIX_NOTES) {
    SUFFIX_NOTES = notes;
    SUFFIX = `: saving checkpoint (${notes})`;
  }
  return SUFFIX;
}

function improvedText(imp: Improvement): string {
  return `${imp.metric} improved from ${imp.from} to ${imp.to}`;
}

function skipRule(config: PolicyConfig, checkEpoch: boolean): string {
  if (config.saveBestOnly && checkEpoch) return 'saveBestOnly';
  return config.everyNEpochs !== null ? 'everyNEpochs' : 'noTrigger';
}

function skipReason(config: PolicyConfig, epoch: number, checkEpoch: boolean, improvements: Improvement[], prev: PolicyProgress, metrics: Metrics): string {
  if (config.saveBestOnly && checkEpoch) {
    let reason = '';
    for (let i = 0; i < config.monitors.length; i++) {
      const m = config.monitors[i];
      if (i > 0) reason += '; ';
      reason += metrics[m.metric] === undefined ? `${m.metric} is missing` : `${m.metric} did not improve from ${prev.monitors[i].shown}`;
    }
    return reason;
  }
  const improved = improvements.length ? `${improvements.map(improvedText).join(' and ')}; ` : '';
  if (config.everyNEpochs !== null) return `${improved}epoch ${epoch}: not a save epoch (every ${plural(config.everyNEpochs, 'epoch')})`;
  return `${improved}epoch ${epoch}: no save trigger fired`;
}
