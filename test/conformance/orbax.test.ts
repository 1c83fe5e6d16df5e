/**
 * Orbax CheckpointManagerOptions conformance (save_interval_steps, save_on_steps, should_save_fn, max_to_keep,
 * keep_period, best_mode), each case written from google/orbax `checkpoint/orbax/checkpoint/checkpoint_manager_test.py`,
 * `_src/checkpoint_managers/preservation_policy_test.py` or the documented options in `checkpoint_manager.py`
 * (named in the title). Orbax's steps are what the caller passes to save(), from 0; ckpt's are the trainer's
 * optimizer steps from 1, so Orbax's initial save of step 0 has no counterpart here (docs/policy.md). ckpt also
 * keeps the latest checkpoint (a deliberate difference); cases assert Orbax's set plus that one.
 */
import * as assert from 'uvu/assert';
import { archivedCheckpoints, parsePolicyConfig, type PredicateContext } from '../../src/policy/index.js';
import { Recording, suite, thrown, type Case } from './drive.js';

const T = 'google/orbax checkpoint/orbax/checkpoint/checkpoint_manager_test.py';
const P = 'google/orbax checkpoint/orbax/checkpoint/_src/checkpoint_managers/preservation_policy_test.py';
const O = 'google/orbax checkpoint/orbax/checkpoint/checkpoint_manager.py';
/** should_save_fn is a module path in a JSON policy; the replay is handed the function itself. */
const FN = '/policies/should-save.mjs';

function batches(n: number, metrics: (step: number) => Record<string, number> = () => ({ loss: 1 })): Recording {
  const r = new Recording();
  for (let s = 1; s <= n; s++) r.batch(s, metrics(s));
  return r;
}

const cases: Case[] = [
  {
    title: `given max_to_keep 2 and saves at every step, when 5 steps run, then the latest 2 are kept (${P} test_latest_n_policy)`,
    async run(driver) {
      const out = await driver.run({ save_interval_steps: 1, max_to_keep: 2 }, batches(5));
      assert.equal(out.kept, ['1@4', '1@5']);
    },
  },
  {
    title: `given max_to_keep None, when checkpoints are saved, then all are kept (${O} LatestN(n=None))`,
    async run(driver) {
      const out = await driver.run({ save_interval_steps: 1, max_to_keep: null }, batches(4));
      assert.equal(out.kept, ['1@1', '1@2', '1@3', '1@4']);
    },
  },
  {
    title: `given save_interval_steps 2, when steps 1…5 run, then steps 2 and 4 are saved (${T} test_save_interval)`,
    async run(driver) {
      const out = await driver.run({ save_interval_steps: 2 }, batches(5));
      assert.equal(out.saves, ['1@2', '1@4']);
    },
  },
  {
    title: `given save_on_steps {1, 3, 5} and save_interval_steps 10000, when steps 1…5 run, then exactly 1, 3 and 5 are saved (${T} test_save_on_steps)`,
    async run(driver) {
      const out = await driver.run({ save_interval_steps: 10000, save_on_steps: [1, 3, 5] }, batches(5));
      assert.equal(out.saves, ['1@1', '1@3', '1@5']);
    },
  },
  {
    title: `given should_save_fn (step % 3 == 0 or step == 2), when steps 1…6 run, then 2, 3 and 6 are saved (${T} test_should_save_with_option_should_save_fn_empty_root_dir)`,
    async run(driver) {
      const fn = (ctx: PredicateContext) => ctx.type === 'BatchEnded' && (ctx.step % 3 === 0 || ctx.step === 2);
      const out = await driver.run({ should_save_fn: FN }, batches(6), { predicate: fn });
      assert.equal(out.saves, ['1@2', '1@3', '1@6']);
    },
  },
  {
    title: `given should_save_fn(step, latest_step), when it saves 3 steps after the latest, then steps 1, 4 and 7 are saved (${O} _ShouldSaveFnPolicy passes previous_steps[-1].step)`,
    async run(driver) {
      const fn = (ctx: PredicateContext) => ctx.type === 'BatchEnded' && (ctx.lastSavedStep === null || ctx.step - ctx.lastSavedStep >= 3);
      const out = await driver.run({ should_save_fn: FN }, batches(7), { predicate: fn });
      assert.equal(out.saves, ['1@1', '1@4', '1@7']);
    },
  },
  {
    title: `given should_save_fn with save_interval_steps, when parsed, then rejected (a deliberate difference: Orbax silently ignores save_interval_steps and save_on_steps) (${O} docstring should_save_fn)`,
    run() {
      assert.match(thrown(() => parsePolicyConfig({ should_save_fn: FN, save_interval_steps: 1 })).message, 'Orbax ignores them');
      assert.is(parsePolicyConfig({ should_save_fn: FN }).predicate, FN);
    },
  },
  {
    title: `given max_to_keep 2, keep_period 4 and save_interval_steps 2, when steps 1…11 run, then 4 and 8 are kept forever; the latest two are counted among the others, 6 and 10 (a deliberate difference: Orbax's LatestN also counts 8, keeping 4, 8, 10, as ckpt's last-N follows tf's max_to_keep, which does not count preserved checkpoints) (${T} test_removes_old_saves_keep_period)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: 2, keep_period: 4, save_interval_steps: 2 }, batches(11));
      assert.equal(out.kept, ['1@4', '1@6', '1@8', '1@10']);
      assert.equal(archivedCheckpoints(out.state).map((c) => c.step), [4, 8]);
    },
  },
  {
    title: `given max_to_keep 0 with keep_period 3 (Orbax accepts 0), when steps 1…8 are saved, then only multiples of 3 stay, and the latest (${T} test_max_to_keep_zero_other_conditions)`,
    async run(driver) {
      const out = await driver.run({ max_to_keep: 0, keep_period: 3, save_interval_steps: 1 }, batches(8));
      assert.equal(out.kept, ['1@3', '1@6', '1@8']);
    },
  },
  {
    title: `given keep_period 3 with epoch saves, when 7 epochs end, then epochs 3 and 6 are kept forever (${P} test_every_n_steps_policy, on the epoch as the saved step)`,
    async run(driver) {
      const out = await driver.run({ keep_period: 3, max_to_keep: 1 }, new Recording().epochs([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]));
      assert.equal(out.kept, ['3', '6', '7']);
    },
  },
  ...([['min', 'loss', [5, 2, 4, 3, 7, 1, 10, 9, 7, 4]], ['max', 'accuracy', [30, 85, 70, 80, 60, 100, 40, 45, 75, 75]]] as const).map(([mode, metric, values]): Case => ({
    title: `given best_mode ${mode} on ${metric} and max_to_keep 2, when 10 steps are saved, then the best two (0-based steps 1 and 5) are kept, and the latest (${T} test_save_best[mode_min=${mode === 'min'}])`,
    async run(driver) {
      const out = await driver.run({ monitor: metric, best_mode: mode, max_to_keep: 2 }, new Recording().epochs([...values], metric));
      assert.equal(out.kept, ['2', '6', '10']);
      const config = parsePolicyConfig({ monitor: metric, best_mode: mode, max_to_keep: 2 });
      assert.equal([config.keepTopK, config.keepLast, config.monitors[0].mode], [2, null, mode]);
    },
  })),
  {
    title: `given best_mode "median", when parsed, then rejected (${O} CheckpointManagerOptions.__post_init__: best_mode must be 'min' or 'max')`,
    run() {
      assert.is(thrown(() => parsePolicyConfig({ monitor: 'loss', best_mode: 'median', max_to_keep: 2 })).code, 'POLICY_INVALID');
    },
  },
  {
    title: `given max_to_keep -1, when parsed, then rejected (${O} CheckpointManagerOptions.__post_init__: "must be None or non-negative")`,
    run() {
      assert.is(thrown(() => parsePolicyConfig({ max_to_keep: -1, keep_period: 2 })).code, 'POLICY_INVALID');
    },
  },
  {
    title: `given save_on_steps {5}, when step 5 is reported twice, then it is saved once (${O} CheckpointManager.should_save: no save at or before the latest step)`,
    async run(driver) {
      const r = batches(5);
      r.batch(5);
      const out = await driver.run({ save_on_steps: [5] }, r);
      assert.equal(out.saves, ['1@5']);
    },
  },
  {
    title: `given best_mode min and max_to_keep 2, when three steps tie, then ckpt keeps the oldest two (a deliberate difference: Orbax's BestN re-sorts stably and keeps the newest of a tie; ckpt follows Lightning's top-k) (${P} test_best_n_policy)`,
    async run(driver) {
      const out = await driver.run({ monitor: 'loss', best_mode: 'min', max_to_keep: 2 }, new Recording().epochs([0.5, 0.5, 0.5, 0.9], 'loss'));
      assert.equal(out.kept, ['1', '2', '4']);
    },
  },
];

suite(cases);
