/**
 * Keras / Lightning / tf.train.CheckpointManager / Orbax / Hugging Face option names accepted as aliases of
 * ckpt's own names. Each alias writes one or more canonical fields.
 */
import { asBool, asInt, asPositive, invalid } from './validate.js';

/** Canonical top-level keys of the input (a superset of PolicyConfig's keys: shared monitor and ES fields). */
export const CANONICAL_KEYS = [
  'preset', 'monitor', 'monitors', 'mode', 'minDelta', 'initialValueThreshold',
  'saveBestOnly', 'everyNEpochs', 'everyNSteps', 'everyNSeconds', 'atEpochs', 'atSteps', 'saveLast', 'predicate',
  'keepTopK', 'keepLast', 'keepEveryNEpochs', 'keepEveryNHours',
  'earlyStopping', 'patience', 'baseline', 'startFromEpoch', 'restoreBestWeights',
  'terminateOnNaN', 'restoreBestAtEnd', 'backup', 'tolerateSaveFailures',
] as const;
export type CanonicalKey = (typeof CANONICAL_KEYS)[number] | 'esMinDelta';

type AliasFn = (value: unknown, alias: string) => Partial<Record<CanonicalKey, unknown>>;
const to = (key: CanonicalKey): AliasFn => (value) => ({ [key]: value });

export const ALIASES: Readonly<Record<string, AliasFn>> = {
  // Keras ModelCheckpoint / EarlyStopping / TerminateOnNaN
  save_best_only: to('saveBestOnly'),
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
  save_last: to('saveLast'),
  every_n_epochs: to('everyNEpochs'),
  every_n_train_steps: to('everyNSteps'),
  train_time_interval: to('everyNSeconds'),
  // tf.train.CheckpointManager / MonitoredTrainingSession
  max_to_keep: to('keepLast'),
  keep_checkpoint_every_n_hours: to('keepEveryNHours'),
  save_checkpoint_secs: to('everyNSeconds'),
  save_checkpoint_steps: to('everyNSteps'),
  // Orbax CheckpointManagerOptions
  keep_period: to('keepEveryNEpochs'),
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
