import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { CkptError } from '../src/errors.js';
import { weightsDigest } from '../src/store/digest.js';
import { captureObject, dataToTensor, restoreObject, selectBackend, tensorToData } from '../src/tfjs/index.js';
import { Rng } from '../trainers/lib/rng.js';

const backend = await selectBackend();

function mlp(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

/** A fixed batch drawn from a seeded generator (same in every call). */
function batch(seed: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const rng = Rng.fromSeed(seed);
  const x = Float32Array.from({ length: 8 * 6 }, () => rng.next() * 2 - 1);
  const y = new Float32Array(8 * 3);
  for (let i = 0; i < 8; i++) y[i * 3 + rng.int(3)] = 1;
  return { xs: tf.tensor2d(x, [8, 6]), ys: tf.tensor2d(y, [8, 3]) };
}

function step(model: tf.LayersModel, optimizer: tf.Optimizer, seed: number): void {
  const { xs, ys } = batch(seed);
  optimizer.minimize(() => tf.metrics.categoricalCrossentropy(ys, model.apply(xs) as tf.Tensor).mean() as tf.Scalar);
  tf.dispose([xs, ys]);
}

const digestOf = async (model: tf.LayersModel) => weightsDigest({ objects: { model: await captureObject(model) } });

test('given this machine without tfjs-node, when a backend is selected, then it is the active tfjs backend and wasm or cpu', () => {
  assert.is(backend, tf.getBackend());
  assert.ok(['wasm', 'cpu', 'tensorflow'].includes(backend));
});

test('given float32, int32 and bool tensors, when converted to TensorData and back, then values, dtype and shape survive', () => {
  const cases = [tf.tensor2d([[1.5, -0.1], [3e-9, 7]], [2, 2]), tf.tensor1d([-3, 0, 2147483647], 'int32'), tf.tensor1d([1, 0, 1], 'bool')];
  for (const t of cases) {
    const td = tensorToData('t', t);
    assert.is(td.data.byteLength, t.size * (t.dtype === 'bool' ? 1 : 4));
    const back = dataToTensor(td);
    assert.is(back.dtype, t.dtype);
    assert.equal(back.shape, t.shape);
    assert.equal([...back.dataSync()], [...t.dataSync()]);
  }
});

test('given a TensorData whose bytes do not fit its shape, when loaded, then PROTOCOL_BAD_STATE says the checkpoint is damaged', () => {
  try {
    dataToTensor({ name: 'k', dtype: 'float32', shape: [3], data: new Uint8Array(8) });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, CkptError);
    assert.is((error as CkptError).code, 'PROTOCOL_BAD_STATE');
  }
});

test('given a trained model, when its state is restored into a model built with another seed, then the weights are byte-identical', async () => {
  const a = mlp(1);
  const adam = tf.train.adam(0.01);
  for (let i = 0; i < 3; i++) step(a, adam, i);
  const state = await captureObject(a, adam);
  const b = mlp(99);
  assert.is.not(await digestOf(b), await digestOf(a));
  await restoreObject(b, tf.train.adam(0.01), state);
  assert.is(await digestOf(b), await digestOf(a));
});

test('given Adam after 7 steps, when captured, then hidden holds accBeta1/accBeta2 equal to the running products and the iteration count', async () => {
  const model = mlp(2);
  const adam = tf.train.adam(0.01);
  for (let i = 0; i < 7; i++) step(model, adam, i);
  const { optimizer } = await captureObject(model, adam);
  const running = adam as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  assert.is(optimizer!.className, 'Adam');
  assert.is(optimizer!.hidden.accBeta1, running.accBeta1.dataSync()[0]);
  assert.is(optimizer!.hidden.accBeta2, running.accBeta2.dataSync()[0]);
  assert.is(optimizer!.hidden.iterations, 7);
  // iteration counter + first moments + second moments, one per weight tensor.
  assert.is(optimizer!.slots.length, 1 + 2 * model.weights.length);
});

test('given a run interrupted after 5 of 12 steps, when resumed in a fresh model and Adam, then it ends bit-identical to the uninterrupted run', async () => {
  const full = mlp(3);
  const fullAdam = tf.train.adam(0.01);
  for (let i = 0; i < 12; i++) step(full, fullAdam, i);

  const first = mlp(3);
  const firstAdam = tf.train.adam(0.01);
  for (let i = 0; i < 5; i++) step(first, firstAdam, i);
  const saved = await captureObject(first, firstAdam);

  const resumed = mlp(44);
  const resumedAdam = tf.train.adam(0.01);
  await restoreObject(resumed, resumedAdam, saved);
  for (let i = 5; i < 12; i++) step(resumed, resumedAdam, i);
  assert.is(await digestOf(resumed), await digestOf(full));
});

test('given the same interruption, when Adam is restored with tfjs setWeights alone, then accBeta drifts from the running product (why hidden state is kept)', async () => {
  const model = mlp(4);
  const adam = tf.train.adam(0.01);
  let drift = 0;
  for (let i = 0; i < 40; i++) {
    step(model, adam, i);
    const fresh = tf.train.adam(0.01);
    const slots = await adam.getWeights();
    await fresh.setWeights(slots.map((s) => ({ name: s.name, tensor: s.tensor.clone() })));
    const a = (adam as unknown as { accBeta2: tf.Variable }).accBeta2.dataSync()[0];
    const b = (fresh as unknown as { accBeta2: tf.Variable }).accBeta2.dataSync()[0];
    if (a !== b) drift++;
    fresh.dispose();
  }
  assert.ok(drift > 0, 'pow() matched the running product at every step; the hidden state would be unnecessary');
});

test('given a checkpoint of another architecture, when restored, then PROTOCOL_BAD_STATE names the mismatch', async () => {
  const state = await captureObject(mlp(5), tf.train.adam(0.01));
  const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 4 }), tf.layers.dense({ units: 3 })] });
  try {
    await restoreObject(other, undefined, state);
    assert.unreachable();
  } catch (error) {
    assert.is((error as CkptError).code, 'PROTOCOL_BAD_STATE');
    assert.match((error as Error).message, /shape/);
  }
});

test('given a checkpoint whose last tensor is truncated, when restored, then PROTOCOL_BAD_STATE, the weights stay and no tensor leaks', async () => {
  const model = mlp(8);
  const state = await captureObject(model);
  const last = state.weights[state.weights.length - 1];
  last.data = last.data.slice(0, last.data.byteLength - 4);
  const weightsBefore = (await captureObject(model)).weights.map((w) => Buffer.from(w.data).toString('hex'));
  const before = tf.memory().numTensors;
  try {
    await restoreObject(model, undefined, state);
    assert.unreachable();
  } catch (error) {
    assert.is((error as CkptError).code, 'PROTOCOL_BAD_STATE');
    assert.match((error as Error).message, /the checkpoint is damaged/);
  }
  assert.is(tf.memory().numTensors, before);
  assert.equal((await captureObject(model)).weights.map((w) => Buffer.from(w.data).toString('hex')), weightsBefore);
});

test('given Adam state, when restored into an SGD optimizer, then PROTOCOL_BAD_STATE says to use the same optimizer', async () => {
  const model = mlp(6);
  const adam = tf.train.adam(0.01);
  step(model, adam, 0);
  const state = await captureObject(model, adam);
  try {
    await restoreObject(mlp(6), tf.train.sgd(0.1), state);
    assert.unreachable();
  } catch (error) {
    assert.is((error as CkptError).code, 'PROTOCOL_BAD_STATE');
    assert.match((error as Error).message, /Adam/);
  }
});

test('given repeated captures and in-process restores (restore-best), when done 20 times each, then no tensors leak', async () => {
  const model = mlp(7);
  const adam = tf.train.adam(0.01);
  step(model, adam, 0);
  const state = await captureObject(model, adam);
  await restoreObject(model, adam, state);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) await restoreObject(model, adam, state);
  for (let i = 0; i < 20; i++) await captureObject(model, adam);
  assert.is(tf.memory().numTensors, before);
});

test.run();
