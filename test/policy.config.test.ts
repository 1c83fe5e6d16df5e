import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CkptError } from '../src/errors.js';
import { configVersion, createPolicy, knownMode, parsePolicyConfig, presets, resolveMode } from '../src/policy/index.js';

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    assert.instance(e, CkptError);
    return { code: (e as CkptError).code, message: (e as CkptError).message };
  }
  throw new Error('expected a CkptError');
}

const modeTable: Array<[string, 'min' | 'max']> = [
  ['loss', 'min'], ['val_loss', 'min'], ['mean_squared_error', 'min'], ['val_mse', 'min'], ['val_mae', 'min'],
  ['acc', 'max'], ['val_accuracy', 'max'], ['val_auc', 'max'], ['precision', 'max'], ['val_recall', 'max'], ['val_f1', 'max'],
];
for (const [metric, mode] of modeTable) {
  test(`given metric ${metric} with mode auto, when resolved, then mode is ${mode}`, () => {
    assert.is(resolveMode(metric, 'auto'), mode);
  });
}

test('given a metric auto cannot classify, when resolved, then POLICY_MODE_UNKNOWN asks for a mode', () => {
  const err = codeOf(() => parsePolicyConfig({ monitor: 'perplexity' }));
  assert.is(err.code, 'POLICY_MODE_UNKNOWN');
  assert.match(err.message, 'perplexity');
  assert.match(err.message, '"min" or "max"');
  assert.is(parsePolicyConfig({ monitor: 'perplexity', mode: 'min' }).monitors[0].mode, 'min');
});

test('given nothing, when parsed, then Keras ModelCheckpoint defaults: val_loss min, every epoch, keep all', () => {
  const c = parsePolicyConfig(undefined);
  assert.equal(c.monitors, [{ metric: 'val_loss', mode: 'min', minDelta: 0, initialValueThreshold: null }]);
  assert.is(c.everyNEpochs, 1);
  assert.is(c.saveBestOnly, false);
  assert.is(c.keepTopK, null);
  assert.is(c.keepLast, null);
  assert.is(c.earlyStopping, null);
});

test('given the normal preset name, when parsed, then every epoch, top 3 + last 2, saveLast', () => {
  const c = parsePolicyConfig('normal');
  assert.is(c.preset, 'normal');
  assert.is(c.everyNEpochs, 1);
  assert.is(c.keepTopK, 3);
  assert.is(c.keepLast, 2);
  assert.is(c.saveLast, true);
  assert.is(c.monitors[0].metric, 'val_loss');
});

test('given short and long presets, when parsed, then best-only and milestones', () => {
  const s = parsePolicyConfig('short');
  assert.is(s.saveBestOnly, true);
  assert.is(s.keepTopK, 1);
  const l = parsePolicyConfig({ preset: 'long' });
  assert.is(l.everyNEpochs, presets.long.everyNEpochs);
  assert.is(l.keepEveryNHours, 6);
  assert.ok((l.keepTopK ?? 0) > 3 && (l.keepLast ?? 0) > 2);
});

test('given a preset with overrides and aliases, when parsed, then overrides win', () => {
  const c = parsePolicyConfig({ preset: 'normal', save_top_k: 5, max_to_keep: 4, monitor: 'val_acc' });
  assert.is(c.keepTopK, 5);
  assert.is(c.keepLast, 4);
  assert.equal(c.monitors.map((m) => [m.metric, m.mode]), [['val_acc', 'max']]);
});

const aliasTable: Array<[string, Record<string, unknown>, (c: ReturnType<typeof parsePolicyConfig>) => unknown, unknown]> = [
  ['save_best_only', { save_best_only: true }, (c) => c.saveBestOnly, true],
  ['save_freq epoch', { save_freq: 'epoch' }, (c) => c.everyNEpochs, 1],
  ['save_freq int (batches)', { save_freq: 500 }, (c) => [c.everyNSteps, c.everyNEpochs], [500, null]],
  ['period (Keras 2)', { period: 3 }, (c) => c.everyNEpochs, 3],
  ['initial_value_threshold', { initial_value_threshold: 0.5 }, (c) => c.monitors[0].initialValueThreshold, 0.5],
  ['save_top_k -1', { save_top_k: -1 }, (c) => c.keepTopK, -1],
  ['save_top_k 0', { save_top_k: 0, save_last: true }, (c) => [c.keepTopK, c.everyNEpochs, c.saveLast], [0, null, true]],
  ['every_n_epochs', { every_n_epochs: 2 }, (c) => c.everyNEpochs, 2],
  ['every_n_train_steps', { every_n_train_steps: 100 }, (c) => c.everyNSteps, 100],
  ['train_time_interval', { train_time_interval: 600 }, (c) => c.everyNSeconds, 600],
  ['max_to_keep', { max_to_keep: 5 }, (c) => c.keepLast, 5],
  ['keep_checkpoint_every_n_hours', { keep_checkpoint_every_n_hours: 2 }, (c) => c.keepEveryNHours, 2],
  ['keep_period (Orbax)', { keep_period: 10 }, (c) => c.keepEveryNEpochs, 10],
  ['save_total_limit (HF)', { save_total_limit: 2 }, (c) => c.keepLast, 2],
  ['metric_for_best_model + greater_is_better', { metric_for_best_model: 'eval_bleu', greater_is_better: true }, (c) => [c.monitors[0].metric, c.monitors[0].mode], ['eval_bleu', 'max']],
  ['load_best_model_at_end', { load_best_model_at_end: true }, (c) => c.restoreBestAtEnd, true],
  ['patience alone enables early stopping on the monitor', { monitor: 'val_acc', patience: 4 }, (c) => [c.earlyStopping?.monitor, c.earlyStopping?.mode, c.earlyStopping?.patience], ['val_acc', 'max', 4]],
  ['restore_best_weights + min_delta + baseline + start_from_epoch', { restore_best_weights: true, min_delta: 0.01, baseline: 0.5, start_from_epoch: 3 },
    (c) => [c.earlyStopping?.restoreBestWeights, c.earlyStopping?.minDelta, c.earlyStopping?.baseline, c.earlyStopping?.startFromEpoch], [true, 0.01, 0.5, 3]],
  ['early_stopping_patience (HF)', { early_stopping_patience: 2, early_stopping_threshold: 0.1 }, (c) => [c.earlyStopping?.patience, c.earlyStopping?.minDelta], [2, 0.1]],
  ['terminate_on_nan', { terminate_on_nan: true }, (c) => c.terminateOnNaN, true],
  ['save_interval + max_checkpoints (seed CheckpointConfig)', { save_interval: 5, max_checkpoints: 10 }, (c) => [c.everyNEpochs, c.keepLast], [5, 10]],
];
for (const [name, input, get, expected] of aliasTable) {
  test(`given alias ${name}, when parsed, then the canonical field is set`, () => {
    assert.equal(get(parsePolicyConfig(input)), expected);
  });
}

test('given two monitors with their own modes, when parsed, then both are tracked in order', () => {
  const c = parsePolicyConfig({ monitors: ['val_loss', { metric: 'val_acc', minDelta: 0.001 }] });
  assert.equal(c.monitors, [
    { metric: 'val_loss', mode: 'min', minDelta: 0, initialValueThreshold: null },
    { metric: 'val_acc', mode: 'max', minDelta: 0.001, initialValueThreshold: null },
  ]);
});

test('given backup as a target string, when parsed, then it backs up new bests and the final checkpoint there', () => {
  assert.equal(parsePolicyConfig({ backup: '/mnt/backup' }).backup, { target: '/mnt/backup', onBest: true, everyN: null, atEnd: true });
});

test('given an unknown key, when parsed, then POLICY_INVALID names it and the allowed keys', () => {
  const err = codeOf(() => parsePolicyConfig({ keep_best: 3 }));
  assert.is(err.code, 'POLICY_INVALID');
  assert.match(err.message, 'policy.keep_best is not a policy option');
  assert.match(err.message, 'keepTopK');
  assert.match(err.message, 'save_top_k');
});

const badValues: Array<[Record<string, unknown> | string, string]> = [
  [{ keepTopK: 'three' }, 'policy.keepTopK must be an integer >= -1 (got "three")'],
  [{ keepTopK: -2 }, 'policy.keepTopK must be an integer >= -1 (got -2)'],
  [{ everyNEpochs: 0 }, 'policy.everyNEpochs must be an integer >= 1'],
  [{ mode: 'minimum' }, 'must be one of min, max, auto'],
  [{ everyNSeconds: -5 }, 'policy.everyNSeconds must be a number > 0'],
  [{ atEpochs: [1, 'x'] }, 'policy.atEpochs[1] must be an integer >= 1'],
  [{ saveBestOnly: 'yes' }, 'policy.saveBestOnly must be true or false'],
  [{ earlyStopping: { patience: 2, cooldown: 1 } }, 'policy.earlyStopping.cooldown is not a policy option'],
  [{ backup: { target: '/b' } }, 'at least one of onBest, everyN, atEnd'],
  [{ save_strategy: 'sometimes' }, 'one of epoch, steps, best, no'],
  ['huge', 'policy.preset must be one of short, normal, long'],
  [{ monitor: 'val_loss', monitors: ['val_acc'] }, 'give only one'],
  [{ max_to_keep: 3, keepLast: 4 }, 'both set keepLast'],
  [{ saveBestOnly: true, everyNEpochs: null }, 'when saveBestOnly is true'],
];
for (const [input, message] of badValues) {
  test(`given ${JSON.stringify(input)}, when parsed, then POLICY_INVALID says "${message}"`, () => {
    const err = codeOf(() => parsePolicyConfig(input));
    assert.is(err.code, 'POLICY_INVALID');
    assert.match(err.message, message);
  });
}

test('given any accepted input, when its normalized form is parsed again, then it is unchanged (idempotent, JSON-safe)', () => {
  const inputs: unknown[] = ['short', 'normal', 'long', { monitors: ['val_loss', 'val_acc'], patience: 3, restore_best_weights: true, backup: '/bk' },
    { save_freq: 100, save_top_k: 2, keep_checkpoint_every_n_hours: 1.5, atEpochs: [5, 1, 5], predicate: '/p.mjs' }];
  for (const input of inputs) {
    const once = parsePolicyConfig(input);
    const json = JSON.parse(JSON.stringify(once));
    assert.equal(parsePolicyConfig(json), once);
    assert.is(configVersion(parsePolicyConfig(json)), configVersion(once));
  }
  assert.equal(parsePolicyConfig({ atEpochs: [5, 1, 5] }).atEpochs, [1, 5]);
});

test('given two different configs, when versioned, then the projection versions differ', () => {
  assert.is.not(configVersion(parsePolicyConfig('normal')), configVersion(parsePolicyConfig('short')));
  assert.ok(configVersion(parsePolicyConfig('normal')) > 0);
});

test('given a typo of a key (keepTopk, every_n_epoch, saveBestonly), when parsed, then the error suggests the nearest key only', () => {
  const typo = codeOf(() => parsePolicyConfig({ keepTopk: 3 }));
  assert.is(typo.code, 'POLICY_INVALID');
  assert.is(typo.message, 'policy.keepTopk is not a policy option; did you mean keepTopK?');
  assert.match(codeOf(() => parsePolicyConfig({ every_n_epoch: 2 })).message, 'did you mean every_n_epochs?');
  assert.match(codeOf(() => parsePolicyConfig({ earlyStopping: { patiense: 2 } })).message, 'policy.earlyStopping.patiense is not a policy option; did you mean patience?');
});

test('given metric names, when knownMode is asked, then explicit modes win, Keras names resolve and unknown names are undefined (never throws)', () => {
  assert.is(knownMode('val_f1_score'), 'max');
  assert.is(knownMode('hinge'), 'min');
  assert.is(knownMode('val/acc'), 'max');
  assert.is(knownMode('train_loss_epoch'), 'min');
  assert.is(knownMode('throughput'), undefined);
  assert.is(knownMode('throughput', 'max'), 'max');
  assert.is(knownMode('val_loss', 'auto'), 'min');
  assert.is(knownMode('val_loss', 'sideways'), 'min');
});


test('given a normalized config recorded by an older version (no minStepsBetweenSaves, keepEveryNSteps), when a policy is built from it, then it is parsed again and complete', () => {
  const current = parsePolicyConfig('normal');
  const old: Record<string, unknown> = { ...current };
  delete old.minStepsBetweenSaves;
  delete old.keepEveryNSteps;
  assert.equal(createPolicy(old).config, current);
});

test.run();
