/**
 * Keras 3 conformance: ModelCheckpoint, EarlyStopping, TerminateOnNaN and mode `auto`, each case written from
 * keras-team/keras `keras/src/callbacks/*_test.py` or the documented behaviour in `keras/src/callbacks/*.py`
 * (named in the title). Epochs are 1-based here (Keras' `epoch` argument is 0-based).
 */
import * as assert from 'uvu/assert';
import { parsePolicyConfig } from '../../src/policy/index.js';
import { Recording, suite, thrown, type Case } from './drive.js';

const K = 'keras-team/keras keras/src/callbacks';
const PATIENCE_LOSSES = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5];

const cases: Case[] = [
  // early_stopping_test.py test_early_stopping_patience: stopped_epoch == max(patience, 1) + 2 (0-based).
  ...[0, 1, 2, 3].map((patience): Case => ({
    title: `given EarlyStopping(monitor="loss", patience=${patience}) and losses 10, 9, 8, 9, 8.9…, when epochs end, then it stops at epoch ${Math.max(patience, 1) + 3} (${K}/early_stopping_test.py test_early_stopping_patience)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'loss', patience }, new Recording().epochs(PATIENCE_LOSSES, 'loss'));
      assert.is(out.stopEpoch, Math.max(patience, 1) + 3);
    },
  })),
  {
    title: `given restore_best_weights and patience 2, when val_loss is 0.2, 0.15, 0.1, 0.11, 0.12, then it stops at epoch 5 and restores epoch 3 (${K}/early_stopping_test.py test_early_stopping_final_weights_when_restoring_model_weights)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ patience: 2, restore_best_weights: true }, new Recording().epochs([0.2, 0.15, 0.1, 0.11, 0.12]));
      assert.is(out.stopEpoch, 5);
      assert.equal(out.restores, [3]);
    },
  },
  {
    title: `given baseline 0.5, patience 5 and restore_best_weights, when no epoch beats the baseline, then it stops after 5 epochs and restores epoch 3 (${K}/early_stopping_test.py test_early_stopping_final_weights_when_restoring_model_weights, "no model beats the baseline")`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ patience: 5, baseline: 0.5, restore_best_weights: true }, new Recording().epochs([0.9, 0.8, 0.7, 0.71, 0.72, 0.73]));
      assert.is(out.stopEpoch, 5);
      assert.equal(out.restores, [3]);
    },
  },
  {
    title: `given restore_best_weights, when another callback stops training at epoch 4, then the best epoch 3 is restored at the end (${K}/early_stopping_test.py test_early_stopping_final_weights_when_restoring_model_weights, "another callback requests a stop")`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ patience: 5, baseline: 0.5, restore_best_weights: true }, new Recording().epochs([0.9, 0.8, 0.7, 0.71]).ended('stopped'));
      assert.is(out.stopEpoch, null);
      assert.equal(out.restores, [3]);
      assert.is(out.decisions.at(-1)!.kind, 'restore');
    },
  },
  {
    title: `given restore_best_weights, when training runs out of epochs, then the best epoch is restored in on_train_end (${K}/early_stopping.py EarlyStopping.on_train_end)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ patience: 5, restore_best_weights: true }, new Recording().epochs([0.5, 0.4, 0.45, 0.44]).ended('done'));
      assert.equal(out.restores, [2]);
      const restore = out.decisions.at(-1)!;
      assert.is(restore.reason, `restoring ${restore.checkpoint} (epoch 2, val_loss 0.4000, best)`);
    },
  },
  {
    title: `given restore_best_weights and patience 2, when val_loss is NaN from the first epoch, then it stops at epoch 2 and restores epoch 1, the first epoch it saw (${K}/early_stopping.py on_epoch_end: best_weights is set on the first epoch considered)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ patience: 2, restore_best_weights: true }, new Recording().epochs([NaN, NaN, NaN]));
      assert.is(out.stopEpoch, 2);
      assert.equal(out.restores, [1]);
      assert.ok(out.saves.includes('1'), 'epoch 1 was saved so that it can be restored');
    },
  },
  {
    title: `given start_from_epoch 2 and patience 0, when loss rises every epoch, then the first two epochs are not judged and it stops at epoch 4 (${K}/early_stopping_test.py test_early_stopping_with_start_from_epoch)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'loss', patience: 0, start_from_epoch: 2 }, new Recording().epochs([1, 2, 3, 4, 5], 'loss'));
      assert.is(out.stopEpoch, 4);
    },
  },
  {
    title: `given min_delta 0.1 and patience 1, when loss falls by 0.05, then that is no improvement and it stops at epoch 2 (${K}/early_stopping.py docstring: "an absolute change of less than min_delta will count as no improvement")`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'loss', patience: 1, min_delta: 0.1 }, new Recording().epochs([1.0, 0.95, 0.9], 'loss'));
      assert.is(out.stopEpoch, 2);
    },
  },
  {
    title: `given save_best_only, when val_loss is 0.5, 0.4, 0.45, 0.3, then epochs 1, 2 and 4 are saved and epoch 3 "did not improve" (${K}/model_checkpoint.py _should_save_model)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ save_best_only: true }, new Recording().epochs([0.5, 0.4, 0.45, 0.3]));
      assert.equal(out.saves, ['1', '2', '4']);
      assert.is(out.decisions.find((d) => d.kind === 'skip')!.reason, 'val_loss did not improve from 0.4000');
    },
  },
  {
    title: `given save_best_only on val_accuracy with mode auto, when it rises, falls, rises, then only the rises are saved (${K}/monitor_callback.py _set_monitor_op: accuracy has _direction "up")`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_accuracy', save_best_only: true }, new Recording().epochs([0.6, 0.7, 0.65, 0.71], 'val_accuracy'));
      assert.equal(out.saves, ['1', '2', '4']);
    },
  },
  {
    title: `given mode auto, when the monitor is a Keras metric, then its direction is the metric's _direction (keras-team/keras keras/src/metrics/*.py: f1_score, auc, r2_score up; hinge, *_crossentropy, mean_squared_error down)`,
    run() {
      const modes = (names: string[]) => parsePolicyConfig({ monitors: names }).monitors.map((m) => m.mode);
      assert.equal(modes(['val_f1_score', 'auc', 'val_r2_score', 'val_sparse_categorical_accuracy', 'fbeta_score']), ['max', 'max', 'max', 'max', 'max']);
      assert.equal(modes(['val_hinge', 'categorical_crossentropy', 'val_binary_crossentropy', 'mean_squared_error', 'kl_divergence', 'val_loss']), ['min', 'min', 'min', 'min', 'min', 'min']);
    },
  },
  {
    title: `given mode auto and a metric without a direction (true_positives), when parsed, then it is rejected asking for min or max (${K}/monitor_callback.py _set_monitor_op raises ValueError)`,
    run() {
      const err = thrown(() => parsePolicyConfig({ monitor: 'true_positives' }));
      assert.is(err.code, 'POLICY_MODE_UNKNOWN');
    },
  },
  {
    title: `given save_best_only and initial_value_threshold 0.45, when val_loss is 0.5, 0.46, 0.44, 0.45, 0.4, then only values under the threshold and the best save: epochs 3 and 5 (${K}/model_checkpoint.py initial_value_threshold)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ save_best_only: true, initial_value_threshold: 0.45 }, new Recording().epochs([0.5, 0.46, 0.44, 0.45, 0.4]));
      assert.equal(out.saves, ['3', '5']);
    },
  },
  {
    title: `given save_freq 3 (batches), when 7 batches and the epoch end, then steps 3 and 6 are saved and the epoch end is not (${K}/model_checkpoint.py _should_save_on_batch)`,
    callbacks: true,
    async run(driver) {
      const r = new Recording();
      for (let s = 1; s <= 7; s++) r.batch(s);
      const out = await driver.run({ save_freq: 3 }, r.epoch({ loss: 1, val_loss: 1 }, { step: 7 }));
      assert.equal(out.saves, ['1@3', '1@6']);
    },
  },
  {
    title: `given save_best_only with save_freq 2 on loss, when batch losses are 1.0, 0.9, 0.95, 0.8, 0.85, 0.99, then the checks at steps 2 and 4 improve and save, the one at 6 does not (${K}/model_checkpoint.py _save_model on_train_batch_end)`,
    callbacks: true,
    async run(driver) {
      const r = new Recording();
      [1.0, 0.9, 0.95, 0.8, 0.85, 0.99].forEach((loss, i) => r.batch(i + 1, { loss }));
      const out = await driver.run({ monitor: 'loss', save_best_only: true, save_freq: 2 }, r.epoch({ loss: 0.9 }, { step: 6 }));
      assert.equal(out.saves, ['1@2', '1@4']);
      assert.is(out.decisions.find((d) => d.kind === 'save' && d.step === 4)!.reason, 'loss improved from 0.9000 to 0.8000, saving checkpoint (every 2 steps)');
    },
  },
  {
    title: `given save_best_only, when the monitor is missing from the logs, then it warns once and saves every epoch (${K}/model_checkpoint.py _should_save_model: "Can save best model only with … available", returns True)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ save_best_only: true }, new Recording().epochs([0.5, 0.4, 0.3], 'loss'));
      assert.equal(out.saves, ['1', '2', '3']);
      assert.equal(out.decisions.filter((d) => d.kind === 'warn').map((d) => d.rule), ['missingMonitor']);
    },
  },
  {
    title: `given terminate_on_nan, when a batch reports loss NaN, then training stops at that batch (${K}/terminate_on_nan_test.py test_TerminateOnNaN)`,
    callbacks: true,
    async run(driver) {
      const r = new Recording().epochs([0.5]).batch(11, { loss: 0.4 }).batch(12, { loss: NaN });
      const out = await driver.run({ terminate_on_nan: true }, r);
      const stop = out.decisions.find((d) => d.kind === 'stop')!;
      assert.equal([stop.rule, stop.epoch, stop.step], ['terminateOnNaN', 2, 12]);
    },
  },
  {
    title: 'given period 2 (Keras 2 ModelCheckpoint), when 5 epochs end, then epochs 2 and 4 are saved (keras-team/keras 2.x ModelCheckpoint `period`: "interval (number of epochs) between checkpoints")',
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ period: 2 }, new Recording().epochs([0.5, 0.4, 0.3, 0.2, 0.1]));
      assert.equal(out.saves, ['2', '4']);
    },
  },
  {
    title: `given the EarlyStopping arguments nested under early_stopping, when val_loss is 0.2, 0.15, 0.1, 0.11, 0.12, then the same stop at epoch 5 and restore of epoch 3 (${K}/early_stopping_test.py test_early_stopping_final_weights_when_restoring_model_weights)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ early_stopping: { monitor: 'val_loss', patience: 2, restore_best_weights: true } }, new Recording().epochs([0.2, 0.15, 0.1, 0.11, 0.12]));
      assert.is(out.stopEpoch, 5);
      assert.equal(out.restores, [3]);
    },
  },
];

suite(cases);
