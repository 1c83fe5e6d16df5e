/**
 * Keras / Lightning / tf.train.CheckpointManager / Orbax / Hugging Face option names accepted as aliases of
 * ckpt's own names. Each alias writes one or more canonical fields.
 */
import { asBool, asInt, asPositive, invalid } from './validate.js';

/** Canonical top-level keys of the input (a superset of PolicyConfig's keys: shared monitor and ES fields). */
export const CANONICAL_KEYS = [
  'preset', 'monitor', 'monitors', 'mode', 'minDelta', 'initialValueThreshold',
  'saveBestOnly', 'everyNEpochs', 'everyNSteps', 'everyNSeconds', 'atEpochs', 'atSteps', 'saveLast', 'predicate',
  'keepTopK', 'keepLast', 'keepEveryNEpochs', 'keepEveryNSteps', 'keepEveryNHours',
  'earlyStopping', 'patience', 'baseline', 'startFromEpoch', 'restoreBestWeights',
  'terminateOnNaN', 'restoreBestAtEnd', 'backup', 'minStepsBetweenSaves',
] as const;
export type CanonicalKey = (typeof CANONICAL_KEYS)[number] | 'esMinDelta';

type AliasFn = (value: unknown, alias: string) => Partial<Record<CanonicalKey, unknown>>;
const to = (key: CanonicalKey): AliasFn => (value) => ({ [key]: value });

export const ALIASES: Readonly<Record<string, AliasFn>> = {
  // Keras ModelCheckpoint / EarlyStopping / TerminateOnNaN
  save_best_only: to('saveBestOnly'),
  // An integer save_freq with save_best_only checks the monitor in the batch logs every N batches (Keras 3).
  save_freq: (v, alias) => {
    if (v === 'epoch') return { everyNEpochs: 1 };
    if (typeof v === 'number') return { everyNSteps: asInt(alias, v, 1), everyNEpochs: null };
    return invalid(alias, '"epoch" or an integer number of batches >= 1', v);
  },
  period: to('everyNEpochs'),
  initial_value_threshold: to('initialValueThreshold'),
  min_delta: to('minDelta'),
  start_from_epoch: to('startFromEpoch'),
  restore_best_weights: to('restoreBestWeights'),
  terminate_on_nan: to('terminateOnNaN'),
  early_stopping: to('earlyStopping'),
  // Lightning ModelCheckpoint
  // save_top_k=0 saves no monitored checkpoints at all (only `last` with save_last).
  save_top_k: (v) => (v === 0 ? { keepTopK: 0, everyNEpochs: null } : { keepTopK: v }),
  // save_last: true | false | null | "link" (a `last` label on every save instead of a copy at the end).
  save_last: (v) => ({ saveLast: v === null ? false : v }),
  // every_n_epochs 0 (or an unset trigger when a step/time trigger is set, see anchorRules) = no epoch-end saves.
  every_n_epochs: (v) => ({ everyNEpochs: v === 0 ? null : v }),
  every_n_train_steps: (v) => ({ everyNSteps: v === 0 ? null : v }),
  train_time_interval: to('everyNSeconds'),
  // EpochEnded carries the training and the validation metrics of the epoch: both moments are one event here.
  save_on_train_epoch_end: (v, alias) => {
    if (v !== null && typeof v !== 'boolean') invalid(alias, 'true, false or null', v);
    return {};
  },
  // tf.train.CheckpointManager / MonitoredTrainingSession (max_to_keep is Orbax's too: see anchorRules)
  max_to_keep: to('keepLast'),
  keep_checkpoint_every_n_hours: to('keepEveryNHours'),
  // 0 still refuses a second save at the same step (CheckpointManager.save): the same as 1 here.
  checkpoint_interval: (v) => ({ minStepsBetweenSaves: v === 0 ? 1 : v }),
  save_checkpoint_secs: to('everyNSeconds'),
  save_checkpoint_steps: to('everyNSteps'),
  // Orbax CheckpointManagerOptions
  keep_period: to('keepEveryNEpochs'),
  save_interval_steps: (v, alias) => ({ everyNSteps: asInt(alias, v, 1), everyNEpochs: null }),
  save_on_steps: (v) => ({ atSteps: v, everyNEpochs: null }),
  should_save_fn: to('predicate'),
  best_mode: (v, alias) => {
    if (v !== 'min' && v !== 'max') invalid(alias, 'one of min, max', v, ['min', 'max']);
    return { mode: v };
  },
  // Hugging Face TrainingArguments / EarlyStoppingCallback
  save_strategy: (v, alias) => {
    if (v === 'epoch') return { everyNEpochs: 1 };
    if (v === 'no') return { everyNEpochs: null };
    if (v === 'best') return { saveBestOnly: true, everyNEpochs: 1 };
    if (v === 'steps') return { everyNEpochs: null };
    return invalid(alias, 'one of epoch, steps, best, no', v, ['epoch', 'steps', 'best', 'no']);
  },
  save_steps: to('everyNSteps'),
  save_total_limit: to('keepLast'),
  metric_for_best_model: to('monitor'),
  greater_is_better: (v, alias) => ({ mode: asBool(alias, v) ? 'max' : 'min' }),
  load_best_model_at_end: to('restoreBestAtEnd'),
  early_stopping_patience: to('patience'),
  early_stopping_threshold: (v, alias) => ({ esMinDelta: asPositive(alias, v) }),
  // the seed documents' CheckpointConfig
  save_interval: to('everyNEpochs'),
  max_checkpoints: to('keepLast'),
  monitor_metric: to('monitor'),
  monitor_mode: to('mode'),
};

export const ALL_KEYS: readonly string[] = [...CANONICAL_KEYS, ...Object.keys(ALIASES)];

/** The library each alias comes from (the seeds' CheckpointConfig keys are `seed`). */
export const ANCHOR_OF: Readonly<Record<string, string>> = {
  save_best_only: 'keras', save_freq: 'keras', period: 'keras', initial_value_threshold: 'keras', min_delta: 'keras',
  start_from_epoch: 'keras', restore_best_weights: 'keras', terminate_on_nan: 'keras', early_stopping: 'keras',
  save_top_k: 'lightning', save_last: 'lightning', every_n_epochs: 'lightning', every_n_train_steps: 'lightning',
  train_time_interval: 'lightning', save_on_train_epoch_end: 'lightning',
  max_to_keep: 'tf', keep_checkpoint_every_n_hours: 'tf', checkpoint_interval: 'tf', save_checkpoint_secs: 'tf',
  save_checkpoint_steps: 'tf',
  keep_period: 'orbax', save_interval_steps: 'orbax', save_on_steps: 'orbax', should_save_fn: 'orbax', best_mode: 'orbax',
};

const given = (obj: Record<string, unknown>, key: string): boolean => obj[key] !== undefined && obj[key] !== null;

/**
 * The rules that depend on several of one library's keys at once, applied to `out` (the canonical writes of
 * `obj`'s keys). Each follows its anchor's constructor:
 * - Lightning ModelCheckpoint.__init_triggers / __validate_init_configuration: every_n_epochs >= 1,
 *   every_n_train_steps >= 1 and train_time_interval are mutually exclusive; a step or time trigger without
 *   every_n_epochs turns epoch-end saves off.
 * - Orbax CheckpointManagerOptions: with best_mode (ckpt's stand-in for best_fn), max_to_keep keeps the best N
 *   (BestN) instead of the latest N; should_save_fn replaces save_interval_steps and save_on_steps.
 * - tf.train.CheckpointManager: max_to_keep must be a positive integer or None (0 raises ValueError); Orbax
 *   accepts 0.
 * @example anchorRules({ every_n_train_steps: 100 }, { everyNSteps: 100 }) // out.everyNEpochs === null
 */
export function anchorRules(obj: Record<string, unknown>, out: Partial<Record<CanonicalKey, unknown>>): void {
  const steps = given(obj, 'every_n_train_steps') && obj.every_n_train_steps !== 0;
  const time = given(obj, 'train_time_interval');
  const epochs = typeof obj.every_n_epochs === 'number' && obj.every_n_epochs >= 1;
  if (Number(steps) + Number(time) + Number(epochs) > 1) {
    invalid('every_n_epochs', 'used alone: every_n_epochs, every_n_train_steps and train_time_interval are mutually exclusive (Lightning ModelCheckpoint)',
      { every_n_epochs: obj.every_n_epochs, every_n_train_steps: obj.every_n_train_steps, train_time_interval: obj.train_time_interval });
  }
  if ((steps || time) && obj.every_n_epochs === undefined && !('everyNEpochs' in out)) out.everyNEpochs = null;
  const orbax = Object.keys(obj).some((k) => ANCHOR_OF[k] === 'orbax' && given(obj, k));
  if (given(obj, 'should_save_fn') && (given(obj, 'save_interval_steps') || given(obj, 'save_on_steps'))) {
    invalid('should_save_fn', 'used without save_interval_steps and save_on_steps (Orbax ignores them when should_save_fn is set; give one)', obj.should_save_fn);
  }
  if (given(obj, 'best_mode') && given(obj, 'max_to_keep')) {
    if ('keepTopK' in obj || 'save_top_k' in obj) invalid('max_to_keep', 'given once: with best_mode it is the top-K count, and keepTopK is set too', obj.max_to_keep);
    out.keepTopK = out.keepLast;
    delete out.keepLast;
  }
  // Orbax counts keep_period on the step passed to save(): the step when the config saves by step, else the epoch.
  if (given(obj, 'keep_period') && (given(obj, 'save_interval_steps') || given(obj, 'save_on_steps')) && 'keepEveryNEpochs' in out) {
    out.keepEveryNSteps = out.keepEveryNEpochs;
    delete out.keepEveryNEpochs;
  }
  if (obj.max_to_keep === 0 && !orbax) {
    invalid('max_to_keep', 'a positive integer or null (tf.train.CheckpointManager raises ValueError for 0; null keeps all)', 0);
  }
}
