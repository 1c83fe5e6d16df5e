/**
 * tf.train.CheckpointManager conformance (max_to_keep, keep_checkpoint_every_n_hours, checkpoint_interval) and
 * MonitoredTrainingSession's save_checkpoint_steps / save_checkpoint_secs, each case written from
 * tensorflow/tensorflow `tensorflow/python/checkpoint/checkpoint_management_test.py` (CheckpointManagerTest) or
 * the documented behaviour in `checkpoint_management.py` (named in the title). tf's time is `time.time()`; here it
 * is the event time. Falling val_loss keeps the newest checkpoint the best, so ckpt's best protection (a
 * deliberate difference, last case) does not hide tf's rules.
 */
import * as assert from 'uvu/assert';
import { archivedCheckpoints, parsePolicyConfig } from '../../src/policy/index.js';
import { Recording, suite, thrown, type Case } from './drive.js';

const T = 'tensorflow/tensorflow tensorflow/python/checkpoint/checkpoint_management_test.py';
const M = 'tensorflow/tensorflow tensorflow/python/checkpoint/checkpoint_management.py';
const S = 1000;
const falling = (n: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1));

/** Epochs with falling val_loss at the given times (seconds). */
function at(seconds: number[], r = new Recording()): Recording {
  for (const t of seconds) r.epoch({ val_loss: 1 / t }, { at: t * S });
  return r;
}

const cases: Case[] = [
  {
    title: `given max_to_keep 3, when 4 checkpoints are saved, then the first is deleted (${T} testDeletion)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: 3 }, new Recording().epochs(falling(4)));
      assert.equal(out.kept, ['2', '3', '4']);
      assert.is(out.decisions.find((d) => d.kind === 'prune')!.reason, 'epoch-1 left the last 3 (epoch-2, epoch-3, epoch-4)');
    },
  },
  {
    title: `given max_to_keep None, when 4 checkpoints are saved, then all are kept (${T} testKeepAll)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: null }, new Recording().epochs(falling(4)));
      assert.equal(out.kept, ['1', '2', '3', '4']);
    },
  },
  {
    title: `given max_to_keep 0, when parsed, then rejected as tf rejects it ("Expected a positive integer or None") (${M} CheckpointManager.__init__)`,
    run() {
      const err = thrown(() => parsePolicyConfig({ max_to_keep: 0 }));
      assert.is(err.code, 'POLICY_INVALID');
      assert.match(err.message, 'positive integer or null');
    },
  },
  {
    title: `given max_to_keep -1, when parsed, then rejected (${M} CheckpointManager.__init__ raises ValueError)`,
    run() {
      assert.is(thrown(() => parsePolicyConfig({ max_to_keep: -1 })).code, 'POLICY_INVALID');
    },
  },
  {
    title: `given max_to_keep 2 and keep_checkpoint_every_n_hours 1.5, when checkpoints at 10000, 13610, +0.2 h, +0.5 h, +0.5 h s, then the first is preserved forever, the second and third deleted (${T} testSaveRestoreState)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: 2, keep_checkpoint_every_n_hours: 1.5 }, at([10000, 13610, 14330, 16130, 17930], new Recording(3 * S)));
      assert.equal(out.kept, ['1', '4', '5']);
      assert.equal(archivedCheckpoints(out.state).map((c) => c.epoch), [1]);
      assert.is(out.state.preservedAt, 10000 * S);
    },
  },
  {
    title: `given max_to_keep 1 and keep_checkpoint_every_n_hours 1, when the run resumes with the clock set back to 5000 s, then the checkpoints stamped later are kept and milestones restart from 5000 s (${T} testClockReset)`,
    async run(driver) {
      const r = at([10000, 13600, 17200], new Recording(9999 * S)).resumed('epoch-3', 3, 30, 5000 * S);
      const out = await driver.run({ max_to_keep: 1, keep_checkpoint_every_n_hours: 1 }, at([5010, 5020], r));
      assert.equal(out.kept, ['2', '3', '5']);
      assert.is(out.state.preservedAt, 5000 * S);
    },
  },
  {
    title: `given max_to_keep 1 and keep_checkpoint_every_n_hours 1, when the clock goes back within a run, then the checkpoint stamped in the future is kept forever (${T} testClockReset: "err on the side of keeping checkpoints")`,
    async run(driver) {
      const r = new Recording(9999 * S);
      [10000, 13600, 17200, 5010, 5020].forEach((t, i) => r.epoch({ val_loss: 1 / (i + 1) }, { at: t * S }));
      const out = await driver.run({ max_to_keep: 1, keep_checkpoint_every_n_hours: 1 }, r);
      assert.equal(out.kept, ['2', '3', '5']);
      assert.equal(archivedCheckpoints(out.state).map((c) => c.epoch), [2, 3]);
    },
  },
  {
    title: `given max_to_keep 2 and keep_checkpoint_every_n_hours 1, when a save comes every 20 min for 3 h, then the 60 and 120 min checkpoints are preserved (${M} _sweep: preserved when N hours after the last preserved)`,
    async run(driver) {
      const t0 = 100_000;
      const out = await driver.run({ max_to_keep: 2, keep_checkpoint_every_n_hours: 1 }, at([20, 40, 60, 80, 100, 120, 140, 160, 180].map((m) => t0 + m * 60), new Recording(t0 * S)));
      assert.equal(archivedCheckpoints(out.state).map((c) => c.epoch), [3, 6]);
      assert.equal(out.kept, ['3', '6', '8', '9']);
    },
  },
  {
    title: `given keep_checkpoint_every_n_hours without max_to_keep, when checkpoints are saved, then nothing is deleted (${M} _sweep returns at once without max_to_keep)`,
    async run(driver) {
      const out = await driver.run({ keep_checkpoint_every_n_hours: 1 }, at([10, 20, 30, 40], new Recording(1 * S)));
      assert.equal(out.kept, ['1', '2', '3', '4']);
    },
  },
  {
    title: `given checkpoint_interval 2 and a save asked at every step, when steps 1…5 end, then steps 1, 3 and 5 are saved: the first always, then 2 steps apart (${T} testCheckpointInterval)`,
    async run(driver) {
      const r = new Recording();
      for (let s = 1; s <= 5; s++) r.batch(s);
      const out = await driver.run({ save_checkpoint_steps: 1, checkpoint_interval: 2, everyNEpochs: null }, r);
      assert.equal(out.saves, ['1@1', '1@3', '1@5']);
    },
  },
  {
    title: `given checkpoint_interval, when a save is asked again at the step just saved, then none is saved (${T} testCheckpointInterval, "same step counter")`,
    async run(driver) {
      const r = new Recording();
      for (let s = 1; s <= 5; s++) r.batch(s);
      const out = await driver.run({ save_checkpoint_steps: 5, checkpoint_interval: 1 }, r.epoch({ val_loss: 1 }, { step: 5 }));
      assert.equal(out.saves, ['1@5']);
      const skip = out.decisions.find((d) => d.kind === 'skip')!;
      assert.is(skip.rule, 'minStepsBetweenSaves');
      assert.is(skip.reason, 'step 5: 0 of the 1 step required since the last save at step 5 (checkpoint_interval)');
    },
  },
  {
    title: `given checkpoint_interval 2, when the run resumes from the checkpoint at step 30, then step 31 is not saved and step 32 is (${T} testCheckpointIntervalWithRestore / testCheckpointIntervalWithLastCheckpointStep)`,
    async run(driver) {
      const r = new Recording().epochs([0.5, 0.4, 0.3]).resumed('epoch-3', 3, 30, 10_000_000);
      r.epoch({ val_loss: 0.2 }, { step: 31 }).epoch({ val_loss: 0.1 }, { step: 32 });
      const out = await driver.run({ checkpoint_interval: 2 }, r);
      assert.equal(out.saves, ['1', '2', '3', '5']);
    },
  },
  {
    title: 'given save_checkpoint_steps 4, when 10 steps run, then steps 4 and 8 are saved (tensorflow/tensorflow tensorflow/python/training/monitored_session.py MonitoredTrainingSession save_checkpoint_steps → CheckpointSaverHook(save_steps))',
    async run(driver) {
      const r = new Recording();
      for (let s = 1; s <= 10; s++) r.batch(s);
      const out = await driver.run({ save_checkpoint_steps: 4, everyNEpochs: null }, r);
      assert.equal(out.saves, ['1@4', '1@8']);
    },
  },
  {
    title: 'given save_checkpoint_secs 60, when a batch ends every 25 s for 150 s, then saves come at 75 and 150 s (tensorflow/tensorflow tensorflow/python/training/monitored_session.py save_checkpoint_secs → CheckpointSaverHook(save_secs))',
    async run(driver) {
      const t0 = 1_000_000;
      const r = new Recording(t0);
      for (let i = 1; i <= 6; i++) r.batch(i, { loss: 1 }, t0 + i * 25 * S);
      const out = await driver.run({ save_checkpoint_secs: 60, everyNEpochs: null }, r);
      assert.equal(out.saves, ['1@3', '1@6']);
    },
  },
  {
    title: `given max_to_keep 1, when an older checkpoint is still the best by val_loss, then ckpt keeps it as well (a deliberate difference: tf deletes oldest first whatever its metric) (${M} _sweep)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: 1 }, new Recording().epochs([0.1, 0.5, 0.6]));
      assert.equal(out.kept, ['1', '3']);
    },
  },
];

suite(cases);
