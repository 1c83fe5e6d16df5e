import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CkptError } from '../src/errors.js';
import { loadPolicy } from '../src/run/load-policy.js';
import { Sim } from './policy.fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ckpt-policy-load-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function rejects(p: Promise<unknown>): Promise<CkptError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, CkptError);
    return e as CkptError;
  }
  throw new Error('expected a rejection');
}

test('given a preset name, when loaded, then the policy has that preset', async () => {
  const policy = await loadPolicy('long', { cwd: dir });
  assert.is(policy.config.preset, 'long');
});

test('given a JSON file with aliases and a relative predicate module, when loaded, then the predicate is imported and used', async () => {
  writeFileSync(join(dir, 'every-third.mjs'), 'export default (ctx) => ctx.type === "EpochEnded" && ctx.epoch % 3 === 0 ? `epoch ${ctx.epoch} is a multiple of 3` : false;\n');
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ save_freq: 'epoch', save_best_only: true, predicate: './every-third.mjs', max_to_keep: 2 }));
  const policy = await loadPolicy('policy.json', { cwd: dir });
  assert.is(policy.config.predicate, join(dir, 'every-third.mjs'));
  assert.is(policy.config.keepLast, 2);
  const sim = new Sim(policy);
  sim.losses([0.5, 0.6, 0.7, 0.8, 0.9, 0.95]);
  const saves = sim.decisions.filter((d) => d.kind === 'save');
  assert.equal(saves.map((d) => [d.epoch, d.rule]), [[1, 'saveBestOnly'], [3, 'predicate'], [6, 'predicate']]);
  assert.is(saves[1].reason, 'epoch 3: saving checkpoint (epoch 3 is a multiple of 3)');
});

test('given a config object, when loaded, then it is validated like parsePolicyConfig', async () => {
  const policy = await loadPolicy({ preset: 'normal', save_top_k: 7 }, { cwd: dir });
  assert.is(policy.config.keepTopK, 7);
  const err = await rejects(loadPolicy({ keep_best: 1 }, { cwd: dir }));
  assert.is(err.code, 'POLICY_INVALID');
});

test('given a missing file, when loaded, then it is a usage error (CLI_USAGE, exit 2) naming the path', async () => {
  const err = await rejects(loadPolicy('nope.json', { cwd: dir }));
  assert.is(err.code, 'CLI_USAGE');
  assert.match(err.message, join(dir, 'nope.json'));
  assert.is(err.details.path, join(dir, 'nope.json'));
});

test('given a file with broken JSON or an unknown option, when loaded, then POLICY_INVALID names the path and the problem', async () => {
  writeFileSync(join(dir, 'broken.json'), '{ "save_top_k": 3,, }');
  const broken = await rejects(loadPolicy('broken.json', { cwd: dir }));
  assert.is(broken.code, 'POLICY_INVALID');
  assert.match(broken.message, 'is not valid JSON');
  writeFileSync(join(dir, 'unknown.json'), JSON.stringify({ keep_best: 3 }));
  const unknown = await rejects(loadPolicy(join(dir, 'unknown.json')));
  assert.match(unknown.message, `${join(dir, 'unknown.json')}: policy.keep_best is not a policy option`);
  writeFileSync(join(dir, 'mode.json'), JSON.stringify({ monitor: 'perplexity' }));
  assert.is((await rejects(loadPolicy('mode.json', { cwd: dir }))).code, 'POLICY_MODE_UNKNOWN');
});

test('given a predicate module that is missing or exports no function, when loaded, then POLICY_INVALID names it', async () => {
  const missing = await rejects(loadPolicy({ predicate: './absent.mjs' }, { cwd: dir }));
  assert.match(missing.message, join(dir, 'absent.mjs'));
  writeFileSync(join(dir, 'not-fn.mjs'), 'export const x = 1;\n');
  const notFn = await rejects(loadPolicy({ predicate: './not-fn.mjs' }, { cwd: dir }));
  assert.match(notFn.message, 'must export a function');
});

test.run();
