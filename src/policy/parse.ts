/** `parsePolicyConfig`: validate any accepted input (preset name, aliases, partial object) into a PolicyConfig. */
import { CkptError } from '../errors.js';
import { ALIASES, ALL_KEYS, anchorRules, CANONICAL_KEYS, type CanonicalKey } from './aliases.js';
import { resolveMode } from './mode.js';
import { isPresetName, PRESET_NAMES, presets } from './presets.js';
import type { BackupConfig, EarlyStoppingConfig, MonitorConfig, PolicyConfig, PresetName } from './types.js';
import {
  asBool, asInt, asIntList, asNonNegative, asOptFinite, asOptInt, asOptPositive, asRecord, asString, invalid,
  rejectUnknownKeys,
} from './validate.js';

type Raw = Partial<Record<CanonicalKey, unknown>>;

const MONITOR_KEYS = ['metric', 'monitor', 'mode', 'minDelta', 'min_delta', 'initialValueThreshold', 'initial_value_threshold'];
const ES_KEYS = ['monitor', 'mode', 'patience', 'minDelta', 'min_delta', 'baseline', 'startFromEpoch', 'start_from_epoch',
  'restoreBestWeights', 'restore_best_weights'];
const BACKUP_KEYS = ['target', 'onBest', 'everyN', 'atEnd'];

/**
 * Validate a policy configuration and return its normalized form (every key present, aliases and `auto` modes
 * resolved). Accepts a preset name, or an object with an optional `preset` plus overrides. Unknown keys throw
 * POLICY_INVALID naming the key and the allowed ones; an unresolvable `auto` mode throws POLICY_MODE_UNKNOWN.
 * parsePolicyConfig(parsePolicyConfig(x)) deep-equals parsePolicyConfig(x).
 * @example parsePolicyConfig({ preset: 'normal', save_top_k: 5 }).keepTopK // 5
 */
export function parsePolicyConfig(input: unknown): PolicyConfig {
  if (input === undefined || input === null) input = {};
  if (typeof input === 'string') {
    if (!isPresetName(input)) invalid('preset', `one of ${PRESET_NAMES.join(', ')}`, input, PRESET_NAMES);
    input = { preset: input };
  }
  const obj = asRecord('', input);
  rejectUnknownKeys('', obj, ALL_KEYS);
  const given = canonicalize(obj);
  let preset: PresetName | null = null;
  if (given.preset !== undefined && given.preset !== null) {
    if (!isPresetName(given.preset)) invalid('preset', `one of ${PRESET_NAMES.join(', ')}`, given.preset, PRESET_NAMES);
    preset = given.preset;
  }
  const base: Raw = preset ? canonicalize(presets[preset] as Record<string, unknown>) : {};
  if (given.monitors !== undefined) delete base.monitor;
  const raw: Raw = { ...base, ...given };
  return build(raw, preset);
}

/** Map aliases to canonical keys; the same canonical key from two input keys is an error. */
function canonicalize(obj: Record<string, unknown>): Raw {
  const out: Raw = {};
  const from: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj)) {
    const writes: Raw = (CANONICAL_KEYS as readonly string[]).includes(key) ? { [key]: value } : ALIASES[key](value, key);
    for (const [k, v] of Object.entries(writes)) {
      // Two keys agreeing that a trigger is off (save_interval_steps and save_on_steps both imply no epoch saves) agree.
      if (k in out && !(v === null && out[k as CanonicalKey] === null)) {
        throw new CkptError('POLICY_INVALID', `policy.${key} and policy.${from[k]} both set ${k}; give only one`, {
          details: { field: key, conflictsWith: from[k] },
        });
      }
      out[k as CanonicalKey] = v;
      from[k] = key;
    }
  }
  anchorRules(obj, out);
  return out;
}

function build(raw: Raw, preset: PresetName | null): PolicyConfig {
  const monitors = buildMonitors(raw);
  const earlyStopping = buildEarlyStopping(raw, monitors);
  const everyNEpochs = raw.everyNEpochs === undefined ? 1 : asOptInt('everyNEpochs', raw.everyNEpochs, 1);
  const keepTopK = asOptInt('keepTopK', raw.keepTopK, -1);
  const config: PolicyConfig = {
    preset,
    monitors,
    saveBestOnly: raw.saveBestOnly === undefined ? false : asBool('saveBestOnly', raw.saveBestOnly),
    everyNEpochs,
    everyNSteps: asOptInt('everyNSteps', raw.everyNSteps, 1),
    everyNSeconds: asOptPositive('everyNSeconds', raw.everyNSeconds),
    atEpochs: asIntList('atEpochs', raw.atEpochs),
    atSteps: asIntList('atSteps', raw.atSteps),
    saveLast: raw.saveLast === undefined ? false : raw.saveLast === 'link' ? 'link' : asBool('saveLast', raw.saveLast),
    minStepsBetweenSaves: asOptInt('minStepsBetweenSaves', raw.minStepsBetweenSaves, 1),
    predicate: raw.predicate === undefined || raw.predicate === null ? null : asString('predicate', raw.predicate),
    keepTopK,
    keepLast: asOptInt('keepLast', raw.keepLast, 0),
    keepEveryNEpochs: asOptInt('keepEveryNEpochs', raw.keepEveryNEpochs, 1),
    keepEveryNSteps: asOptInt('keepEveryNSteps', raw.keepEveryNSteps, 1),
    keepEveryNHours: asOptPositive('keepEveryNHours', raw.keepEveryNHours),
    earlyStopping,
    terminateOnNaN: raw.terminateOnNaN === undefined ? false : asBool('terminateOnNaN', raw.terminateOnNaN),
    restoreBestAtEnd: raw.restoreBestAtEnd === undefined ? false : asBool('restoreBestAtEnd', raw.restoreBestAtEnd),
    backup: buildBackup(raw.backup),
  };
  // Keras 3 checks save_best_only on epoch ends (save_freq "epoch") or every N batches (an integer save_freq).
  if (config.saveBestOnly && config.everyNEpochs === null && config.everyNSteps === null) {
    invalid('everyNEpochs', 'an integer >= 1 when saveBestOnly is true (how often improvement is checked), or set everyNSteps', null);
  }
  return config;
}

function buildMonitors(raw: Raw): MonitorConfig[] {
  if (raw.monitor !== undefined && raw.monitors !== undefined) {
    throw new CkptError('POLICY_INVALID', 'policy.monitor and policy.monitors are both set; give only one', {
      details: { field: 'monitors' },
    });
  }
  const sharedMode = raw.mode === undefined ? 'auto' : asString('mode', raw.mode);
  const sharedDelta = raw.minDelta === undefined ? 0 : asNonNegative('minDelta', raw.minDelta);
  const sharedThreshold = asOptFinite('initialValueThreshold', raw.initialValueThreshold);
  let specs: unknown[];
  if (raw.monitors !== undefined) {
    if (!Array.isArray(raw.monitors) || raw.monitors.length === 0) invalid('monitors', 'a non-empty list of metric names or monitor objects', raw.monitors);
    specs = raw.monitors;
  } else if (raw.monitor === undefined) specs = ['val_loss'];
  else specs = Array.isArray(raw.monitor) ? raw.monitor : [raw.monitor];
  if (specs.length === 0) invalid('monitor', 'a metric name or a non-empty list of them', raw.monitor);
  const field = raw.monitors !== undefined ? 'monitors' : 'monitor';
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    const where = specs.length > 1 || field === 'monitors' ? `${field}[${i}]` : field;
    let monitor: MonitorConfig;
    if (typeof spec === 'string') {
      const metric = asString(where, spec);
      monitor = { metric, mode: resolveMode(metric, sharedMode), minDelta: sharedDelta, initialValueThreshold: sharedThreshold };
    } else {
      const o = asRecord(where, spec);
      rejectUnknownKeys(where, o, MONITOR_KEYS);
      const metric = asString(`${where}.metric`, o.metric ?? o.monitor);
      const mode = o.mode === undefined ? sharedMode : asString(`${where}.mode`, o.mode);
      const delta = o.minDelta ?? o.min_delta;
      const threshold = o.initialValueThreshold ?? o.initial_value_threshold;
      monitor = {
        metric,
        mode: resolveMode(metric, mode),
        minDelta: delta === undefined ? sharedDelta : asNonNegative(`${where}.minDelta`, delta),
        initialValueThreshold: threshold === undefined ? sharedThreshold : asOptFinite(`${where}.initialValueThreshold`, threshold),
      };
    }
    if (seen.has(monitor.metric)) invalid(where, 'a metric not monitored twice', monitor.metric);
    seen.add(monitor.metric);
    return monitor;
  });
}

function buildEarlyStopping(raw: Raw, monitors: MonitorConfig[]): EarlyStoppingConfig | null {
  const topLevel = { patience: raw.patience, baseline: raw.baseline, startFromEpoch: raw.startFromEpoch,
    restoreBestWeights: raw.restoreBestWeights, minDelta: raw.esMinDelta };
  const anyTopLevel = Object.values(topLevel).some((v) => v !== undefined);
  let nested: Record<string, unknown> | null;
  if (raw.earlyStopping === undefined || raw.earlyStopping === false || raw.earlyStopping === null) nested = anyTopLevel ? {} : null;
  else if (raw.earlyStopping === true) nested = {};
  else {
    nested = { ...asRecord('earlyStopping', raw.earlyStopping) };
    rejectUnknownKeys('earlyStopping', nested, ES_KEYS);
  }
  if (nested === null) return null;
  const pick = (camel: string, snake?: string): unknown => {
    const top = (topLevel as Record<string, unknown>)[camel];
    const inner = nested![camel] ?? (snake ? nested![snake] : undefined);
    return inner !== undefined ? inner : top;
  };
  const metric = nested.monitor === undefined ? monitors[0].metric : asString('earlyStopping.monitor', nested.monitor);
  const same = monitors.find((m) => m.metric === metric);
  const modeIn = nested.mode === undefined ? (same ? same.mode : 'auto') : asString('earlyStopping.mode', nested.mode);
  const delta = pick('minDelta', 'min_delta');
  const patience = pick('patience');
  const start = pick('startFromEpoch', 'start_from_epoch');
  const restore = pick('restoreBestWeights', 'restore_best_weights');
  return {
    monitor: metric,
    mode: resolveMode(metric, modeIn),
    patience: patience === undefined ? 0 : asInt('earlyStopping.patience', patience, 0),
    minDelta: delta === undefined ? (same ? same.minDelta : 0) : asNonNegative('earlyStopping.minDelta', delta),
    baseline: asOptFinite('earlyStopping.baseline', pick('baseline')),
    startFromEpoch: start === undefined ? 0 : asInt('earlyStopping.startFromEpoch', start, 0),
    restoreBestWeights: restore === undefined ? false : asBool('earlyStopping.restoreBestWeights', restore),
  };
}

function buildBackup(value: unknown): BackupConfig | null {
  if (value === undefined || value === null || value === false) return null;
  if (typeof value === 'string') return { target: asString('backup', value), onBest: true, everyN: null, atEnd: true };
  const o = asRecord('backup', value);
  rejectUnknownKeys('backup', o, BACKUP_KEYS);
  const backup: BackupConfig = {
    target: asString('backup.target', o.target),
    onBest: o.onBest === undefined ? false : asBool('backup.onBest', o.onBest),
    everyN: asOptInt('backup.everyN', o.everyN, 1),
    atEnd: o.atEnd === undefined ? false : asBool('backup.atEnd', o.atEnd),
  };
  if (!backup.onBest && backup.everyN === null && !backup.atEnd) {
    invalid('backup', 'an object with at least one of onBest, everyN, atEnd', value);
  }
  return backup;
}
