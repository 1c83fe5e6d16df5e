import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { openWorkspace } from '../src/workspace.js';
import { encodeSafetensors } from '../src/store/safetensors.js';
import { captureObject } from '../src/tfjs/state.js';
import { floats, meta, tempDir } from './store.fixtures.js';

/** An IOHandler that reads a model directory the way tfjs-node's file:// loader does. */
function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const buffers = await Promise.all(json.weightsManifest[0].paths.map((p: string) => readFile(join(dir, p))));
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

function tinyModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 5, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return model;
}

test('given a trained tfjs model, when exported as tfjs and loaded with tf.loadLayersModel, then predictions are identical and the optimizer comes back', async () => {
  const { dir, cleanup } = await tempDir('tfjs');
  try {
    await tf.setBackend('cpu');
    const model = tinyModel();
    const x = tf.tensor2d([[1, 2, 3, 4], [0.5, -1, 2, 0], [-3, 1, 1, 1]]);
    await model.fit(x, tf.tensor2d([[1, 0], [0, 1], [1, 1]]), { epochs: 2, verbose: 0 });
    const object = await captureObject(model, model.optimizer);
    const ws = await openWorkspace(dir, { create: true });
    const { checkpoint } = await ws.store.commit({ objects: { model: object }, trainer: { epoch: 2, step: 20 }, history: [] }, meta('run-1', 2, { loss: 0.4 }));
    const out = join(dir, 'export');
    const result = await ws.store.exportCheckpoint('latest', { format: 'tfjs', out, includeOptimizer: true, loss: 'meanSquaredError' });
    assert.is(result.checkpoint, checkpoint);
    assert.equal((await readdir(out)).sort(), ['group1-shard1of1.bin', 'model.json']);
    const loaded = await tf.loadLayersModel(fileHandler(out));
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    const actual = (loaded.predict(x) as tf.Tensor).dataSync();
    assert.equal(Array.from(actual), Array.from(expected));
    const originalSlots = await model.optimizer.getWeights();
    const loadedSlots = await loaded.optimizer.getWeights();
    assert.is(loadedSlots.length, originalSlots.length);
    for (let i = 1; i < originalSlots.length; i++) assert.equal(Array.from(loadedSlots[i].tensor.dataSync()), Array.from(originalSlots[i].tensor.dataSync()), originalSlots[i].name);
    const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    assert.is(json.userDefinedMetadata.ckpt.checkpoint, checkpoint);
    const exported = [];
    for await (const e of ws.ledger.read({ types: ['CheckpointExported'] })) exported.push(e.data);
    assert.equal(exported, [{ checkpoint, format: 'tfjs', path: out }]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given weights larger than one shard, when exported as tfjs, then they are split into 4 MiB shards that load back exactly', async () => {
  const { dir, cleanup } = await tempDir('shard');
  try {
    await tf.setBackend('cpu');
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 1100, inputShape: [1000], kernelInitializer: tf.initializers.randomUniform({ seed: 3 }) }));
    const object = await captureObject(model);
    const ws = await openWorkspace(dir, { create: true });
    await ws.store.commit({ objects: { model: object }, trainer: { epoch: 1, step: 10 }, history: [] }, meta('run-1', 1, {}));
    const out = join(dir, 'export');
    await ws.store.exportCheckpoint('latest', { format: 'tfjs', out });
    assert.equal((await readdir(out)).sort(), ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
    const loaded = await tf.loadLayersModel(fileHandler(out));
    const x = tf.ones([1, 1000]);
    assert.equal(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a hand-built safetensors file, when the same tensors are encoded, then the bytes are identical', () => {
  // {"__metadata__":{"epoch":"3"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"ids":{"dtype":"I32",...},"mask":{"dtype":"BOOL",...}}
  // F32 (rank 15) sorts before I32 (13) before BOOL (0), so offsets follow that order.
  const header = '{"__metadata__":{"epoch":"3"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"ids":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]},"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[12,15]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  const known = Buffer.concat([length, Buffer.from(padded), Buffer.from(floats([1.5, -2])), Buffer.from([7, 0, 0, 0]), Buffer.from([1, 0, 1])]);
  assert.is(padded.length % 8, 0);
  const encoded = encodeSafetensors([
    { name: 'mask', dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
    { name: 'ids', dtype: 'int32', shape: [1, 1], data: new Uint8Array([7, 0, 0, 0]) },
    { name: 'w', dtype: 'float32', shape: [2], data: floats([1.5, -2]) },
  ], { epoch: '3' });
  assert.is(encoded.toString('hex'), known.toString('hex'));
  // a reader that follows the spec finds each tensor at its offsets
  const n = Number(encoded.readBigUInt64LE(0));
  const parsed = JSON.parse(encoded.subarray(8, 8 + n).toString());
  const [a, b] = parsed.w.data_offsets;
  assert.equal(Array.from(new Float32Array(encoded.buffer.slice(encoded.byteOffset + 8 + n + a, encoded.byteOffset + 8 + n + b))), [1.5, -2]);
});

test('given a committed checkpoint, when exported as safetensors, then the file has its tensors, epoch, metrics and digest', async () => {
  const { dir, cleanup } = await tempDir('st');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const kernel = floats([1, 2, 3, 4]);
    const state = { objects: { model: { weights: [{ name: 'dense/kernel', dtype: 'float32' as const, shape: [2, 2], data: kernel }] } }, trainer: { epoch: 4, step: 40 }, history: [] };
    const { checkpoint } = await ws.store.commit(state, meta('run-1', 4, { val_loss: 0.25 }, { createdAt: Date.UTC(2026, 0, 1) }));
    const { path } = await ws.store.exportCheckpoint('best:val_loss', { format: 'safetensors', out: dir });
    assert.is(path, join(dir, `${checkpoint}.safetensors`));
    // docs/format.md: the weights digest is the sha256 of each weight tensor's sha256.
    const digest = createHash('sha256').update(createHash('sha256').update(kernel).digest()).digest('hex');
    const header = `{"__metadata__":{"ckpt.backend":"cpu","ckpt.checkpoint":"${checkpoint}","ckpt.createdAt":"2026-01-01T00:00:00.000Z","ckpt.epoch":"4","ckpt.metrics":"{\\"val_loss\\":0.25}","ckpt.run":"run-1","ckpt.step":"40","ckpt.trainer":"test-trainer","ckpt.weightsDigest":"${digest}"},"dense/kernel":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`;
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(padded.length));
    assert.is((await readFile(path)).toString('hex'), Buffer.concat([length, Buffer.from(padded), kernel]).toString('hex'));
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a checkpoint with a string tensor, when exported as safetensors, then STORE_EXPORT_UNSUPPORTED and no file', async () => {
  const { dir, cleanup } = await tempDir('st2');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const state = { objects: { model: { weights: [{ name: 's', dtype: 'string' as const, shape: [1], data: new Uint8Array([1, 0, 0, 0, 65]) }] } }, trainer: { epoch: 1, step: 10 }, history: [] };
    await ws.store.commit(state, meta('run-1', 1, {}));
    const error = await ws.store.exportCheckpoint('latest', { format: 'safetensors', out: join(dir, 'x.safetensors') }).catch((e) => e);
    assert.is(error.code, 'STORE_EXPORT_UNSUPPORTED');
    assert.not.ok((await readdir(dir)).includes('x.safetensors'));
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a checkpoint from a non-tfjs trainer, when exported as tfjs, then STORE_EXPORT_UNSUPPORTED names the formats that work', async () => {
  const { dir, cleanup } = await tempDir('py');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const state = { objects: { model: { topology: { kind: 'logistic-regression', features: 2 }, weights: [{ name: 'w', dtype: 'float64' as const, shape: [2], data: new Uint8Array(new Float64Array([0.5, -1]).buffer) }] } }, trainer: { epoch: 1, step: 10 }, history: [] };
    await ws.store.commit(state, meta('run-1', 1, {}));
    const error = await ws.store.exportCheckpoint('latest', { format: 'tfjs', out: join(dir, 'm') }).catch((e) => e);
    assert.is(error.code, 'STORE_EXPORT_UNSUPPORTED');
    assert.match(error.message, /safetensors or bundle/);
    const { path } = await ws.store.exportCheckpoint('latest', { format: 'safetensors', out: join(dir, 'w.safetensors') });
    const file = await readFile(path);
    const n = Number(file.readBigUInt64LE(0));
    assert.equal(JSON.parse(file.subarray(8, 8 + n).toString()).w, { dtype: 'F64', shape: [2], data_offsets: [0, 16] });
    assert.equal(Array.from(new Float64Array(file.buffer.slice(file.byteOffset + 8 + n, file.byteOffset + 8 + n + 16))), [0.5, -1]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test.run();
