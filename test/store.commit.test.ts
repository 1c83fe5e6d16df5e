import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir, rm } from 'node:fs/promises';
import { BlobStore } from '../src/store/blobs.js';
import { join } from 'node:path';
import { openWorkspace } from '../src/workspace.js';
import { weightsDigest } from '../src/store/digest.js';
import type { CatalogState } from '../src/projections/catalog.js';
import { meta, modelState, tempDir, tensor } from './store.fixtures.js';
import type { DType } from '../src/checkpoint.js';

test('given a missing directory, when opened without create, then STORE_NOT_FOUND and nothing is created', async () => {
  const { dir, cleanup } = await tempDir('nf');
  try {
    const target = join(dir, 'nope');
    const error = await openWorkspace(target).catch((e) => e);
    assert.is(error.code, 'STORE_NOT_FOUND');
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

test('given a state, when committed and loaded after reopening, then every tensor, slot, hidden value and trainer field round-trips', async () => {
  const { dir, cleanup } = await tempDir('rt');
  try {
    const state = modelState(1, 3);
    let ws = await openWorkspace(dir, { create: true });
    const committed = await ws.store.commit(state, meta('run-1', 3, { loss: 0.5, val_loss: 0.6 }, { tags: ['a'], description: 'first', labels: ['last'] }));
    assert.is(committed.checkpoint, 'ckpt-1');
    assert.is(committed.weightsDigest, weightsDigest(state));
    await ws.close();

    ws = await openWorkspace(dir);
    const loaded = await ws.store.load('ckpt-1');
    assert.is(loaded.id, 'ckpt-1');
    assert.equal(loaded.state.objects.model.weights.map((t) => [t.name, t.dtype, t.shape, Buffer.from(t.data).toString('hex')]),
      state.objects.model.weights.map((t) => [t.name, t.dtype, t.shape, Buffer.from(t.data).toString('hex')]));
    assert.equal(loaded.state.objects.model.optimizer!.slots.map((t) => Buffer.from(t.data).toString('hex')),
      state.objects.model.optimizer!.slots.map((t) => Buffer.from(t.data).toString('hex')));
    assert.equal(loaded.state.objects.model.optimizer!.hidden, { accBeta1: 0.9 ** 3, accBeta2: 0.999 ** 3 });
    assert.equal(loaded.state.objects.model.topology, state.objects.model.topology);
    assert.equal(loaded.state.trainer, state.trainer);
    assert.equal(loaded.state.history, state.history);
    assert.is(loaded.manifest.description, 'first');
    assert.is(weightsDigest(loaded.state), committed.weightsDigest);
    const entry = ws.ledger.state<CatalogState>('catalog').checkpoints['ckpt-1'];
    assert.is(entry.status, 'kept');
    assert.equal(entry.tags, ['a']);
    assert.equal(entry.labels, ['last']);
    await ws.close();
  } finally {
    await cleanup();
  }
});

const DTYPES: DType[] = ['float32', 'int32', 'bool', 'complex64', 'float16', 'float64', 'int8', 'int16', 'int64', 'uint8', 'uint16', 'uint32'];

test('given a tensor of every dtype (and strings, and an empty tensor), when committed with each compression, then the bytes come back identical', async () => {
  const { dir, cleanup } = await tempDir('dt');
  try {
    const strings = Buffer.concat(['hi', 'ckpt', ''].map((s) => { const b = Buffer.alloc(4 + Buffer.byteLength(s)); b.writeUInt32LE(Buffer.byteLength(s)); b.write(s, 4); return b; }));
    const weights = [
      ...DTYPES.map((dtype, i) => tensor(`t_${dtype}`, [2, 3], 100 + i, dtype)),
      { name: 't_string', dtype: 'string' as const, shape: [3], data: new Uint8Array(strings) },
      tensor('t_empty', [0, 4], 5),
    ];
    for (const compression of ['none', 'gzip', 'brotli'] as const) {
      const ws = await openWorkspace(join(dir, compression), { create: true, compression });
      const state = { objects: { model: { weights } }, trainer: { epoch: 1, step: 10 }, history: [] };
      const { checkpoint } = await ws.store.commit(state, meta('run-1', 1, {}));
      const { manifest, state: back } = await ws.store.load(checkpoint);
      assert.equal(back.objects.model.weights.map((t) => [t.name, t.dtype, t.shape, Buffer.from(t.data).toString('hex')]),
        weights.map((t) => [t.name, t.dtype, t.shape, Buffer.from(t.data).toString('hex')]), compression);
      assert.ok(back.objects.model.weights.every((t) => t.data.byteOffset === 0 && t.data.buffer.byteLength === t.data.byteLength), 'own aligned buffers');
      const f32 = back.objects.model.weights.find((t) => t.dtype === 'float32')!;
      assert.equal(Array.from(new Float32Array(f32.data.buffer)), Array.from(new Float32Array(new Uint8Array(weights[0].data).buffer)));
      const expected = compression === 'none' ? 'raw' : compression === 'gzip' ? 'gzip' : 'br';
      assert.ok(manifest.objects.model.weights.every((t) => t.encoding === expected));
      await ws.close();
    }
  } finally {
    await cleanup();
  }
});

test('given a directory that is not a ckpt directory, when opened without create, then STORE_NOT_FOUND; and a second owner gets LEDGER_LOCKED', async () => {
  const { dir, cleanup } = await tempDir('own');
  try {
    assert.is((await openWorkspace(dir).catch((e) => e)).code, 'STORE_NOT_FOUND');
    const ws = await openWorkspace(dir, { create: true });
    const error = await openWorkspace(dir).catch((e) => e);
    assert.is(error.code, 'LEDGER_LOCKED');
    await ws.close();
    const again = await openWorkspace(dir);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('given a tensor whose bytes do not fit its shape, when committed, then STORE_INVALID and no event', async () => {
  const { dir, cleanup } = await tempDir('bad');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const state = { objects: { model: { weights: [{ name: 'w', dtype: 'float32' as const, shape: [3], data: new Uint8Array(8) }] } }, trainer: { epoch: 1, step: 10 }, history: [] };
    const error = await ws.store.commit(state, meta('run-1', 1, {})).catch((e) => e);
    assert.is(error.code, 'STORE_INVALID');
    assert.match(error.message, /needs 12 bytes but has 8/);
    assert.is(ws.ledger.lastSeq, 0);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given the state of epoch 12, when committed as epoch 1 (another position), then STORE_POSITION_MISMATCH and nothing is written or recorded', async () => {
  const { dir, cleanup } = await tempDir('position');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const error = await ws.store.commit(modelState(1, 12), meta('run-1', 1, { val_loss: 0.5 })).catch((e) => e);
    assert.is(error.code, 'STORE_POSITION_MISMATCH');
    assert.match(error.message, /state of epoch 12, step 120 as a checkpoint of epoch 1, step 10/);
    assert.equal(error.details, { state: { epoch: 12, step: 120 }, meta: { epoch: 1, step: 10 } });
    // The same epoch at another step is another position too.
    const sameEpoch = await ws.store.commit(modelState(1, 1), meta('run-1', 1, {}, { step: 11 })).catch((e) => e);
    assert.is(sameEpoch.code, 'STORE_POSITION_MISMATCH');
    assert.is(ws.ledger.lastSeq, 0);
    assert.equal(await readdir(join(dir, 'objects')).catch(() => []), []);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a state saved at batch_end of epoch 2 (1 epoch completed, step 15), when committed as that position (epoch 2, step 15), then it commits', async () => {
  const { dir, cleanup } = await tempDir('position-batch');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const state = { ...modelState(1, 1), trainer: { epoch: 1, step: 15 } };
    const committed = await ws.store.commit(state, meta('run-1', 2, {}, { step: 15 }));
    assert.equal([committed.epoch, committed.step], [2, 15]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given two objects (a GAN), when committed, then each is restored by name and the digest covers both in name order', async () => {
  const { dir, cleanup } = await tempDir('gan');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const state = {
      objects: {
        generator: { weights: [tensor('g/w', [5], 1)] },
        discriminator: { weights: [tensor('d/w', [7], 2)], optimizer: { className: 'Adam', config: {}, slots: [tensor('d/w/m', [7], 3)], hidden: { accBeta1: 0.5 } } },
      },
      trainer: { epoch: 2, step: 20 },
      history: [],
    };
    const { checkpoint, objects } = await ws.store.commit(state, meta('run-1', 2, {}));
    assert.equal(objects.sort(), ['discriminator', 'generator']);
    const { state: back } = await ws.store.load(checkpoint);
    assert.equal(Buffer.from(back.objects.generator.weights[0].data), Buffer.from(state.objects.generator.weights[0].data));
    assert.equal(back.objects.discriminator.optimizer!.hidden, { accBeta1: 0.5 });
    const { createHash } = await import('node:crypto');
    // docs/format.md: sha256 over each weight tensor's sha256, objects in name order.
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();
    const manual = createHash('sha256').update(sha(state.objects.discriminator.weights[0].data)).update(sha(state.objects.generator.weights[0].data)).digest('hex');
    assert.is(weightsDigest(back), manual);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a checkpoint whose weights did not change, when committed again, then no tensor blob is written twice', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const ws = await openWorkspace(dir, { create: true });
    const a = modelState(1, 1);
    const first = await ws.store.commit(a, meta('run-1', 1, { loss: 1 }));
    const b = modelState(1, 2);
    b.objects.model.weights[1] = tensor('dense/bias', [3], 999);
    const second = await ws.store.commit(b, meta('run-1', 2, { loss: 0.9 }));
    const bias = b.objects.model.weights[1].data.byteLength;
    assert.is(second.checkpoint, 'ckpt-2');
    assert.ok(second.bytes.new < first.bytes.new, 'the second wrote less');
    // new bytes = the changed bias + the new manifest
    const manifestSize = (await readFile(ws.store.blobs.path(second.manifest))).byteLength;
    assert.is(second.bytes.new, bias + manifestSize);
    const shared = first.blobs.filter((h) => second.blobs.includes(h));
    assert.is(shared.length, 4, 'topology, kernel and two slots are shared');
    const catalog = ws.ledger.state<CatalogState>('catalog');
    for (const h of shared) assert.is(catalog.blobRefs[h], 2);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a blob prefix directory removed behind the store, when the blob is written again, then the directory is recreated', async () => {
  const { dir, cleanup } = await tempDir('pfx');
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const data = Buffer.from('same bytes');
    const first = await blobs.put(data);
    await rm(join(blobs.objectsDir, first.hash.slice(0, 2)), { recursive: true });
    const again = await blobs.put(data);
    assert.equal([again.hash, again.written], [first.hash, true]);
    assert.equal(await blobs.read(first.hash), data);
  } finally {
    await cleanup();
  }
});

test.run();
