/**
 * Lightning conformance: ModelCheckpoint (save_top_k, ties, every_n_epochs, every_n_train_steps,
 * train_time_interval, save_last, save_on_train_epoch_end) and EarlyStopping's patience, each case written from
 * Lightning-AI/pytorch-lightning tests or `src/lightning/pytorch/callbacks/model_checkpoint.py` (named in the
 * title). Lightning's epochs are 0-based; here they are 1-based. ckpt always keeps the latest checkpoint as well
 * (docs/policy.md, a deliberate difference); cases assert Lightning's set plus that one.
 */
import * as assert from 'uvu/assert';
import { parsePolicyConfig } from '../../src/policy/index.js';
import { Recording, suite, thrown, type Case } from './drive.js';

const T = 'Lightning-AI/pytorch-lightning tests/tests_pytorch/checkpointing/test_model_checkpoint.py';
const MC = 'Lightning-AI/pytorch-lightning src/lightning/pytorch/callbacks/model_checkpoint.py';
const ES = 'Lightning-AI/pytorch-lightning tests/tests_pytorch/callbacks/test_early_stopping.py test_early_stopping_patience';

/** Two epochs of 64 steps, a batch event per step `dtMs` apart from `t0`, the epoch end at each epoch's last step. */
function twoEpochsOfBatches(t0: number, dtMs: number): Recording {
  const r = new Recording(t0);
  for (let s = 1; s <= 128; s++) {
    r.batch(s, { loss: 1 }, t0 + s * dtMs);
    if (s % 64 === 0) r.epoch({ loss: 1, val_loss: 1 }, { step: s, at: t0 + s * dtMs });
  }
  return r;
}

const cases: Case[] = [
  {
    title: `given save_top_k 2 on val_loss, when 5 epochs end, then the best two (epochs 2, 4) are kept, and the latest (ckpt keeps it too) (${MC} docstring save_top_k)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', mode: 'min', save_top_k: 2 }, new Recording().epochs([0.5, 0.3, 0.4, 0.2, 0.6]));
      assert.equal(out.kept, ['2', '4', '5']);
    },
  },
  {
    title: `given save_top_k -1, when 3 epochs end, then every checkpoint is kept (${T} test_model_checkpoint_topk_all)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'epoch', mode: 'max', save_top_k: -1 }, new Recording().epochs([0, 1, 2], 'epoch'));
      assert.equal(out.kept, ['1', '2', '3']);
    },
  },
  {
    title: `given save_top_k 0 and save_last, when 2 epochs end, then only the last checkpoint is saved (${T} test_model_checkpoint_topk_zero)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ save_top_k: 0, save_last: true }, new Recording().epochs([0.5, 0.4]).ended());
      assert.equal(out.saves, ['2']);
      assert.equal(out.decisions.find((d) => d.kind === 'save')!.labels, ['last']);
    },
  },
  {
    title: `given save_top_k 2 holding two checkpoints of 0.5, when a third 0.5 comes, then it is not admitted (equal to the k-th is not better) (${MC} check_monitor_top_k compares with torch.lt)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', save_top_k: 2 }, new Recording().epochs([0.5, 0.5, 0.5, 0.6]));
      assert.equal(out.kept, ['1', '2', '4']);
      assert.ok(out.decisions.some((d) => d.kind === 'prune' && d.epoch === 3), 'epoch 3 left');
    },
  },
  {
    title: `given save_top_k 2 holding two checkpoints of 0.5, when a better one comes, then the oldest of the tied is evicted (${MC} _update_best_and_save: kth_best_model_path is the first of the worst)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', save_top_k: 2 }, new Recording().epochs([0.5, 0.5, 0.4]));
      assert.equal(out.kept, ['2', '3']);
      assert.equal(out.decisions.filter((d) => d.kind === 'prune').map((d) => d.epoch), [1]);
    },
  },
  ...(['min', 'max'] as const).map((mode): Case => ({
    title: `given save_top_k 1 in mode ${mode}, when the monitor is NaN first, then every epoch saves and the best is the last (${T} test_checkpointing_with_nan_as_first[${mode}])`,
    callbacks: true,
    async run(driver) {
      const values = mode === 'min' ? [NaN, 8, 7, 5] : [NaN, 5, 7, 8];
      const out = await driver.run({ monitor: 'abc', mode, save_top_k: 1 }, new Recording().epochs(values, 'abc'));
      assert.equal(out.saves, ['1', '2', '3', '4']);
      assert.equal(out.kept, ['4']);
      assert.is(out.state.progress.monitors[0].best, mode === 'min' ? 5 : 8);
    },
  })),
  ...[0, 1, 2, 3].map((n): Case => ({
    title: `given every_n_epochs ${n} and save_top_k -1, when 5 epochs end, then the epochs divisible by ${n} are saved${n === 0 ? ' (none: 0 is valid)' : ''} (${T} test_model_checkpoint_every_n_epochs[${n}])`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ every_n_epochs: n, save_top_k: -1 }, new Recording().epochs([0.5, 0.4, 0.3, 0.2, 0.1]));
      assert.equal(out.saves, n === 0 ? [] : ['1', '2', '3', '4', '5'].filter((e) => Number(e) % n === 0));
    },
  })),
  {
    title: `given every_n_train_steps 16 and every_n_epochs 0, when 2 epochs of 64 steps run, then 8 checkpoints are saved at steps 16, 32, … 128 (${T} test_ckpt_every_n_train_steps)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ every_n_epochs: 0, every_n_train_steps: 16, save_top_k: -1 }, twoEpochsOfBatches(1_000_000, 1000));
      assert.equal(out.saves, ['1@16', '1@32', '1@48', '1@64', '2@80', '2@96', '2@112', '2@128']);
    },
  },
  {
    title: `given every_n_train_steps 16 alone, when 2 epochs of 64 steps run, then epoch-end saves are off: the same 8 step saves and no second save of steps 64 and 128 (${MC} __init_triggers: every_n_epochs = every_n_epochs or 0)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ every_n_train_steps: 16, save_top_k: -1 }, twoEpochsOfBatches(1_000_000, 1000));
      assert.is(out.saves.length, 8);
      assert.is(parsePolicyConfig({ every_n_train_steps: 16 }).everyNEpochs, null);
    },
  },
  {
    title: `given train_time_interval 60 s, when 128 batches take 7 s each, then 14 checkpoints are saved and none at epoch ends (${T} test_model_checkpoint_train_time_interval)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ train_time_interval: 60, save_top_k: -1, save_last: false }, twoEpochsOfBatches(1_000_000, 7000));
      assert.is(out.saves.length, 14);
      assert.is(out.saves[0], '1@9');
    },
  },
  {
    title: `given two of every_n_epochs, every_n_train_steps, train_time_interval, when parsed, then rejected as mutually exclusive; a 0 is not a trigger (${T} test_invalid_trigger_combination)`,
    run() {
      for (const bad of [{ every_n_train_steps: 1, every_n_epochs: 2 }, { train_time_interval: 60, every_n_epochs: 2 }, { train_time_interval: 60, every_n_train_steps: 2 }]) {
        assert.match(thrown(() => parsePolicyConfig(bad)).message, 'mutually exclusive');
      }
      assert.is(parsePolicyConfig({ every_n_train_steps: 0, every_n_epochs: 3 }).everyNEpochs, 3);
      assert.is(parsePolicyConfig({ every_n_train_steps: 4, every_n_epochs: 0 }).everyNSteps, 4);
      assert.is(parsePolicyConfig({ every_n_train_steps: 0, every_n_epochs: 0, train_time_interval: 60 }).everyNSeconds, 60);
    },
  },
  {
    title: `given save_top_k -3, every_n_epochs -3 or every_n_train_steps -3, when parsed, then rejected; every_n_epochs 0 is accepted (${T} test_invalid_top_k, test_invalid_every_n_epochs, test_invalid_every_n_train_steps)`,
    run() {
      for (const bad of [{ save_top_k: -3 }, { every_n_epochs: -3 }, { every_n_train_steps: -3 }]) assert.is(thrown(() => parsePolicyConfig(bad)).code, 'POLICY_INVALID');
      assert.is(parsePolicyConfig({ every_n_epochs: 0 }).everyNEpochs, null);
    },
  },
  {
    title: `given save_last "link", when 3 epochs end and training ends, then every save is labelled last and no copy is saved at the end (${MC} docstring save_last: "'link' … create a symbolic link")`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', save_top_k: 2, save_last: 'link' }, new Recording().epochs([0.5, 0.4, 0.3]).ended());
      assert.equal(out.saves, ['1', '2', '3']);
      assert.ok(out.decisions.filter((d) => d.kind === 'save').every((d) => d.labels!.includes('last')));
      assert.is(out.decisions.filter((d) => d.rule === 'saveLast').length, 0);
      assert.is(parsePolicyConfig({ save_last: 'link' }).saveLast, 'link');
    },
  },
  {
    title: `given save_last with save_top_k 1, when the last epoch is already saved, then no second copy; the latest is the last (${T} test_model_checkpoint_save_last)`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', save_top_k: 1, save_last: true }, new Recording().epochs([0.5, 0.6, 0.4]).ended());
      assert.equal(out.saves, ['1', '2', '3']);
      assert.equal(out.kept, ['3']);
      assert.is(out.decisions.find((d) => d.rule === 'saveLast')!.kind, 'skip');
    },
  },
  {
    title: `given save_on_train_epoch_end true or false, when epochs end, then the saves are the same (ckpt's EpochEnded carries the training and validation metrics of the epoch) (${MC} _should_save_on_train_epoch_end)`,
    callbacks: true,
    async run(driver) {
      const a = await driver.run({ save_top_k: -1, save_on_train_epoch_end: true }, new Recording().epochs([0.5, 0.4]));
      const b = await driver.run({ save_top_k: -1, save_on_train_epoch_end: false }, new Recording().epochs([0.5, 0.4]));
      assert.equal(a.saves, ['1', '2']);
      assert.equal(b.saves, a.saves);
      assert.is(thrown(() => parsePolicyConfig({ save_on_train_epoch_end: 'yes' })).code, 'POLICY_INVALID');
    },
  },
  ...([[[6, 5, 5, 5, 5, 5], 3, 4], [[6, 5, 4, 4, 3, 3], 1, 3], [[6, 5, 6, 5, 5, 5], 3, 4]] as const).map(([losses, patience, stop0]): Case => ({
    title: `given EarlyStopping(patience=${patience}), when val_loss is ${losses.join(', ')}, then it stops at epoch ${stop0 + 1} (0-based ${stop0}) (${ES})`,
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', mode: 'min', patience }, new Recording().epochs([...losses]));
      assert.is(out.stopEpoch, stop0 + 1);
    },
  })),
  {
    title: `given mode "unknown_option", when parsed, then rejected; "max" ranks higher first (${T} test_model_checkpoint_mode_options)`,
    run() {
      assert.is(thrown(() => parsePolicyConfig({ save_top_k: 1, monitor: 'val_acc', mode: 'unknown_option' })).code, 'POLICY_INVALID');
      assert.is(parsePolicyConfig({ save_top_k: 1, monitor: 'score', mode: 'max' }).monitors[0].mode, 'max');
    },
  },
  {
    title: 'given EarlyStopping(min_delta=0.1, patience=2), when val_loss falls by 0.05 per epoch, then no epoch after the first improves and it stops at epoch 3 (Lightning-AI/pytorch-lightning src/lightning/pytorch/callbacks/early_stopping.py _evaluate_stopping_criteria: monitor_op(current - min_delta, best_score))',
    callbacks: true,
    async run(driver) {
      const out = await driver.run({ monitor: 'val_loss', mode: 'min', patience: 2, min_delta: 0.1 }, new Recording().epochs([1.0, 0.95, 0.9, 0.85]));
      assert.is(out.stopEpoch, 3);
    },
  },
];

suite(cases);
