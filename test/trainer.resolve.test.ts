import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CkptError } from '../src/errors.js';
import { resolveTrainer } from '../src/trainers.js';
import { loadMnist } from '../trainers/lib/mnist-data.js';
import { Rng } from '../trainers/lib/rng.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ckpt-trainer-resolve-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('given a built-in name run from source, when resolved, then it runs trainers/<name>.ts with node and the tsx loader', () => {
  const r = resolveTrainer('mnist-mlp', { from: 'source' });
  assert.is(r.name, 'mnist-mlp');
  assert.is(r.command, process.execPath);
  assert.equal(r.args.slice(-1), [join(root, 'trainers', 'mnist-mlp.ts')]);
  assert.is(r.args[0], '--import');
  assert.match(r.args[1], /tsx/);
});

test('given from dist, when resolved, then it runs dist/trainers/<name>.js, or says to build when dist is missing', () => {
  try {
    const r = resolveTrainer('mnist-cnn', { from: 'dist' });
    assert.equal(r.args, [join(root, 'dist', 'trainers', 'mnist-cnn.js')]);
  } catch (error) {
    assert.is((error as CkptError).code, 'CLI_TRAINER_NOT_FOUND');
    assert.match((error as Error).message, /npm run build/);
  }
});

test('given paths by extension, when resolved, then .py uses python, .mjs uses node, and anything else runs directly', () => {
  for (const name of ['t.py', 't.mjs', 't.js', 'run-me']) writeFileSync(join(dir, name), '');
  chmodSync(join(dir, 'run-me'), 0o755);
  const py = resolveTrainer('t.py', { cwd: dir, python: '/opt/py' });
  assert.equal(py, { command: '/opt/py', args: [join(dir, 't.py')], name: 't' });
  assert.equal(resolveTrainer(join(dir, 't.mjs')), { command: process.execPath, args: [join(dir, 't.mjs')], name: 't' });
  assert.equal(resolveTrainer('t.js', { cwd: dir }).command, process.execPath);
  assert.equal(resolveTrainer('run-me', { cwd: dir }), { command: join(dir, 'run-me'), args: [], name: 'run-me' });
});

test('given a name that is neither built in nor a file, when resolved, then CLI_TRAINER_NOT_FOUND lists the built-ins', () => {
  try {
    resolveTrainer('mnist-transformer', { cwd: dir });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, CkptError);
    assert.is((error as CkptError).code, 'CLI_TRAINER_NOT_FOUND');
    assert.match((error as Error).message, /mnist-mlp or mnist-cnn/);
  }
});

test('given a seeded RNG, when its state is saved mid-stream and restored, then it continues with the same numbers', () => {
  const a = Rng.fromSeed(9);
  for (let i = 0; i < 5; i++) a.next();
  const saved = a.state();
  const expected = [a.next(), a.next(), a.nextUint32()];
  const b = Rng.fromState(JSON.parse(JSON.stringify(saved)));
  assert.equal([b.next(), b.next(), b.nextUint32()], expected);
  assert.is.not(Rng.fromSeed(10).next(), Rng.fromSeed(9).next());
  const p = Rng.fromSeed(3).permutation(50);
  assert.equal([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});

test('given split sizes, when MNIST is loaded twice, then the splits are identical, balanced per digit, and disjoint', () => {
  const sizes = { trainSize: 200, validationSize: 50, testSize: 50 };
  process.env.CKPT_MNIST_CACHE_DIR = dir;
  const a = loadMnist(sizes); // from the package, written to the cache
  const b = loadMnist(sizes); // from the cache
  process.env.CKPT_MNIST_CACHE = '0';
  const cold = loadMnist(sizes);
  delete process.env.CKPT_MNIST_CACHE;
  assert.equal([...b.train.x], [...cold.train.x], 'the cache holds exactly what a cold load gives');
  assert.equal([...b.test.y], [...cold.test.y]);
  assert.equal([...a.validation.x], [...cold.validation.x]);
  assert.is(a.train.n, 200);
  assert.is(a.validation.n, 50);
  assert.equal([...a.train.x.subarray(0, 5000)], [...b.train.x.subarray(0, 5000)]);
  const perDigit = new Array(10).fill(0);
  for (let i = 0; i < a.train.n; i++) perDigit[a.train.y.subarray(i * 10, i * 10 + 10).indexOf(1)]++;
  assert.equal(perDigit, new Array(10).fill(20));
  const key = (x: Float32Array, i: number) => x.subarray(i * 784, (i + 1) * 784).join(',');
  const train = new Set(Array.from({ length: a.train.n }, (_, i) => key(a.train.x, i)));
  const overlap = [...Array(a.test.n).keys()].filter((i) => train.has(key(a.test.x, i))).length;
  assert.ok(overlap <= 1, `test and train share ${overlap} images`);
  assert.throws(() => loadMnist({ trainSize: 9000, validationSize: 0, testSize: 0 }), /at most/);
});

test.run();
