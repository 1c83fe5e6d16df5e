/**
 * EpochEnded → save / skip / warn decisions: epoch triggers (and the step, time and predicate triggers of
 * triggers.ts), save-best-only, best tracking per monitor and early stopping. Batches: batch-progress.ts.
 */
import type { Decision, EpochEnded, Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { formatValue, isImprovement, showChange } from './mode.js';
import { evaluateEarlyStopping, terminateOnNaN } from './early-stopping.js';
import { cloneProgress, cloneState, decision, plural } from './state.js';
import { gate, predicateTrigger, stepAndTimeTriggers, withPending, type Trigger } from './triggers.js';
import type { MonitorProgress, PolicyConfig, PolicyState, PolicyProgress, SavePredicate } from './types.js';

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
  // The reference epoch of a monitor that never improved (Keras 3) is no best: labelled as an epoch save.
  if (es.forceSave) triggers.push({ rule: 'restoreBestWeights', label: progress.es!.best === null ? 'epoch' : `best:${config.earlyStopping!.monitor}`, note: 'kept for restore' });

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
