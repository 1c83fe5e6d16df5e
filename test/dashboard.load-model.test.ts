import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../src/index.js';
import { ckpt } from './cli.helpers.js';

// Issue 14 item 4: `tf.loadLayersModel('file://…')` rejects under plain @tensorflow/tfjs; the README's way is
// `loadModel` from ckpt. This suite runs the README's snippet itself, as a user's module importing 'ckpt'.
const repo = new URL('..', import.meta.url).pathname;
const trainer = new URL('./dashboard.gated-trainer.ts', import.meta.url).pathname;
let root: string;

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'ckpt-load-model-'));
  const trained = ckpt(['train', '--trainer', trainer, '--epochs', '2', '--trainer-config', '{"trainSize":200}'], { cwd: root });
  assert.is(trained.code, 0, trained.stderr + trained.stdout);
  const exported = ckpt(['export', 'best', '--format', 'tfjs', '--out', './model'], { cwd: root });
  assert.is(exported.code, 0, exported.stderr);
});
test.after(() => rmSync(root, { recursive: true, force: true }));

/** The README's ```js block that uses loadModel, verbatim. */
function readmeSnippet(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('loadModel('));
  assert.ok(block, 'the README shows loadModel');
  return block!;
}

test('given `npx ckpt export best --format tfjs --out ./model`, when the README\'s loadModel snippet runs as a user\'s module, then it loads and predicts 10 class probabilities', () => {
  mkdirSync(join(root, 'node_modules', '@tensorflow'), { recursive: true });
  symlinkSync(repo, join(root, 'node_modules', 'ckpt'));
  symlinkSync(join(repo, 'node_modules', '@tensorflow', 'tfjs'), join(root, 'node_modules', '@tensorflow', 'tfjs'));
  writeFileSync(join(root, 'readme.mjs'), readmeSnippet());
  const run = spawnSync(process.execPath, ['readme.mjs'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, run.stderr);
  const printed = /Tensor\s*\[\[([^\]]+)\],?\]/.exec(run.stdout);
  assert.ok(printed, run.stdout);
  const probabilities = printed![1].split(',').map(Number);
  assert.is(probabilities.length, 10);
  assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'softmax sums to 1');
});

test('given the export folder and the ref it came from, when both are loaded, then their weights and predictions are identical', async () => {
  const fromFolder = await loadModel(join(root, 'model'));
  const fromRef = await loadModel('best', { dir: join(root, 'checkpoints') });
  const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  assert.equal(weights(fromFolder), weights(fromRef));
  const x = tf.randomUniform([2, 784], 0, 1, 'float32', 3);
  assert.equal(Array.from((fromFolder.predict(x) as tf.Tensor).dataSync()), Array.from((fromRef.predict(x) as tf.Tensor).dataSync()));
});

test('given plain @tensorflow/tfjs, when the old README line tf.loadLayersModel(\'file://…\') is tried, then it still rejects — the reason loadModel exists', async () => {
  let error: unknown;
  try {
    await tf.loadLayersModel(`file://${join(root, 'model', 'model.json')}`);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, 'plain tfjs has no file:// handler');
});

test('given a ref that names no checkpoint, when loaded, then CLI_REF_UNKNOWN says how to list them', async () => {
  let error: any;
  try {
    await loadModel('ckpt-99', { dir: join(root, 'checkpoints') });
  } catch (e) {
    error = e;
  }
  assert.is(error?.code, 'CLI_REF_UNKNOWN');
});

test.run();
