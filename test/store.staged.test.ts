// The store's side of staged tensors (capability `stage`, docs/protocol.md "Staged tensors"): a staged file is
// adopted as a blob (renamed under its hash, or deleted when that blob is present) and one that is not what the
// reply says — wrong length, wrong sha256, missing, a name that is not plain — fails the commit with
// STORE_STAGED_MISMATCH, commits nothing and is deleted. Staging directories of dead supervisors are removed even
// while an orphaned trainer still writes into them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckpointState, StagedTensor, TensorData, WireState } from '../src/checkpoint.js';
import { BlobStore } from '../src/store/blobs.js';
import { weightsDigest } from '../src/store/digest.js';
import { createStagingDir, inStagingDir, removeStagingDirs, stagingRoot } from '../src/store/staged.js';
import { openWorkspace, type Workspace } from '../src/workspace.js';
import { meta, modelState, tempDir, tensor } from './store.fixtures.js';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A workspace with a staging directory, as a supervisor offers one to a `stage` trainer. */
async function staging(dir: string, options: { compression?: 'gzip' } = {}): Promise<{ ws: Workspace; blobs: BlobStore; stage: string }> {
  const ws = await openWorkspace(dir, { create: true, ...options });
  const blobs = ws.store.blobs as BlobStore;
  return { ws, blobs, stage: await createStagingDir(stagingRoot(blobs)!) };
}

/**
 * `state` as a trainer stages it: each tensor's bytes written to `<stage>/<prefix>-<i>`, the reply naming the files
 * (plain names, made absolute as the supervisor does); `edit` may change a staged tensor of the reply.
 */
function staged(state: CheckpointState, stage: string, prefix: string, edit: (t: StagedTensor, i: number) => StagedTensor = (t) => t): WireState {
  let i = 0;
  const place = (t: TensorData): StagedTensor => {
    const file = `${prefix}-${i}`;
    writeFileSync(join(stage, file), t.data);
    return edit({ name: t.name, dtype: t.dtype, shape: t.shape, file, bytes: t.data.byteLength }, i++);
  };
  const objects = Object.fromEntries(Object.entries(state.objects).map(([name, o]) => [name, {
    ...o, weights: o.weights.map(place), ...(o.optimizer ? { optimizer: { ...o.optimizer, slots: o.optimizer.slots.map(place) } } : {}),
  }]));
  return inStagingDir({ ...state, objects }, stage);
}

const tensorsOf = (state: CheckpointState): TensorData[] => Object.values(state.objects).flatMap((o) => [...o.weights, ...(o.optimizer?.slots ?? [])]);

test('given a staged state, when committed, then each file is adopted as the blob of its hash (bytes intact, file gone) and the checkpoint loads and verifies like one sent in frames', async () => {
  const { dir, cleanup } = await tempDir('staged-ok');
  const { ws, blobs, stage } = await staging(dir);
  try {
    const state = modelState(1, 2);
    const committed = await ws.store.commit(staged(state, stage, 's1'), meta('run-1', 2, { loss: 0.5 }));
    assert.is(committed.weightsDigest, weightsDigest(state));
    assert.equal(readdirSync(stage), [], 'every staged file was adopted');
    for (const t of tensorsOf(state)) {
      const path = blobs.path(sha(t.data));
      assert.ok(existsSync(path), `${t.name} is stored under its hash`);
      assert.equal(new Uint8Array(readFileSync(path)), t.data, `${t.name}'s bytes`);
    }
    const loaded = await ws.store.loadId(committed.checkpoint);
    assert.equal(tensorsOf(loaded.state).map((t) => [t.name, sha(t.data)]), tensorsOf(state).map((t) => [t.name, sha(t.data)]));
    assert.ok((await ws.store.verify([committed.checkpoint]))[0].ok);
    assert.equal(readdirSync(join(dir, 'tmp')), ['staging'], 'no temp file');
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given tensors already stored, when the same bytes are staged again, then adopt reports written: false, deletes the file, and the commit counts no new tensor bytes', async () => {
  const { dir, cleanup } = await tempDir('staged-dup');
  const { ws, blobs, stage } = await staging(dir);
  try {
    const state = modelState(2, 1);
    const first = await ws.store.commit(staged(state, stage, 's1'), meta('run-1', 1, { loss: 1 }));
    const tensors = tensorsOf(state);
    assert.ok(first.bytes.new >= tensors.reduce((n, t) => n + t.data.byteLength, 0));

    const file = join(stage, 'again');
    writeFileSync(file, tensors[0].data);
    const round = blobs.round();
    const put = await round.adopt(file, { bytes: tensors[0].data.byteLength, sha256: sha(tensors[0].data) });
    await round.durable();
    assert.equal(put, { hash: sha(tensors[0].data), size: tensors[0].data.byteLength, written: false });
    assert.not.ok(existsSync(file), 'the duplicate is deleted');

    // The same tensors at a later position (new trainer fields, new manifest): only the manifest is new.
    const later = { ...state, trainer: { ...state.trainer, epoch: 2, step: 20 } };
    const second = await ws.store.commit(staged(later, stage, 's2'), meta('run-1', 2, { loss: 0.9 }));
    assert.is(second.weightsDigest, first.weightsDigest);
    assert.ok(second.bytes.new < tensors[0].data.byteLength + 4096, `new bytes ${second.bytes.new}: tensors deduplicated`);
    assert.equal(readdirSync(stage), []);
    assert.ok((await ws.store.verify()).every((r) => r.ok));
  } finally {
    await ws.close();
    await cleanup();
  }
});

/** Commit a bad staged state: STORE_STAGED_MISMATCH, no checkpoint, every staged file of it deleted. */
async function assertRefused(ws: Workspace, stage: string, wire: WireState, what: string): Promise<void> {
  const before = ws.store.catalog().order.length;
  const error = await ws.store.commit(wire, meta('run-1', wire.trainer.epoch, { loss: 1 })).then(() => null, (e) => e);
  assert.ok(error, `${what}: the commit fails`);
  assert.is(error.code, 'STORE_STAGED_MISMATCH', `${what}: ${error.message}`);
  assert.is(ws.store.catalog().order.length, before, `${what}: nothing committed`);
  assert.equal(readdirSync(stage), [], `${what}: the staged files are deleted`);
}

test('given a staged file whose length is not what the reply says, when committed, then STORE_STAGED_MISMATCH, nothing committed, the files deleted, no blob of it', async () => {
  const { dir, cleanup } = await tempDir('staged-len');
  const { ws, blobs, stage } = await staging(dir);
  try {
    const state = modelState(3, 1);
    const tensors = tensorsOf(state);
    const last = tensors.length - 1;
    // The reply's lengths fit the shapes; the files do not: one byte more, one byte less.
    const longer = new Uint8Array([...tensors[last].data, 0]);
    const shorter = tensors[1].data.subarray(1);
    const long = staged(state, stage, 's1', (t, i) => (i === last ? (writeFileSync(join(stage, t.file), longer), t) : t));
    await assertRefused(ws, stage, long, 'a longer file');
    const short = staged(state, stage, 's2', (t, i) => (i === 1 ? (writeFileSync(join(stage, t.file), shorter), t) : t));
    await assertRefused(ws, stage, short, 'a shorter file');
    for (const bytes of [longer, shorter]) assert.not.ok(existsSync(blobs.path(sha(bytes))), 'the mismatching file was not stored');
    assert.equal(ws.store.catalog().order, []);
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given a staged tensor whose length does not fit its shape, when committed, then STORE_INVALID, nothing committed, and its staged files deleted all the same', async () => {
  const { dir, cleanup } = await tempDir('staged-shape');
  const { ws, stage } = await staging(dir);
  try {
    const state = modelState(8, 1);
    const wire = staged(state, stage, 's1', (t, i) => (i === 0 ? { ...t, bytes: t.bytes + 4 } : t));
    const error = await ws.store.commit(wire, meta('run-1', 1, { loss: 1 })).then(() => null, (e) => e);
    assert.is(error?.code, 'STORE_INVALID', error?.message);
    assert.equal(ws.store.catalog().order, []);
    assert.equal(readdirSync(stage), [], 'the staged files are deleted');
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given a staged file whose sha256 is not the one the reply gives, when committed, then STORE_STAGED_MISMATCH, nothing committed, the file deleted and not stored; the right sha256 is adopted', async () => {
  const { dir, cleanup } = await tempDir('staged-sha');
  const { ws, blobs, stage } = await staging(dir);
  try {
    const state = modelState(4, 1);
    const tensors = tensorsOf(state);
    await assertRefused(ws, stage, staged(state, stage, 's1', (t, i) => (i === 0 ? { ...t, sha256: sha(tensors[1].data) } : t)), 'wrong sha256');
    assert.not.ok(existsSync(blobs.path(sha(tensors[0].data))), 'the mismatching file is not stored');
    const ok = await ws.store.commit(staged(state, stage, 's2', (t, i) => ({ ...t, sha256: sha(tensors[i].data) })), meta('run-1', 1, { loss: 1 }));
    assert.is(ok.weightsDigest, weightsDigest(state));
    assert.equal(readdirSync(stage), []);
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given a staged tensor naming a missing file, when committed, then STORE_STAGED_MISMATCH and the other staged files are deleted', async () => {
  const { dir, cleanup } = await tempDir('staged-missing');
  const { ws, stage } = await staging(dir);
  try {
    const state = modelState(5, 1);
    await assertRefused(ws, stage, staged(state, stage, 's1', (t, i) => (i === 2 ? (unlinkSync(join(stage, t.file)), t) : t)), 'missing file');
  } finally {
    await ws.close();
    await cleanup();
  }
});

/** Every path under `dir`, sorted. */
const tree = (dir: string): string[] => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).sort() : []);

test('given many staged tensors of which the first is missing, when committed, then the commit rejects only once none of its work runs on: objects/ does not change after it returned', async () => {
  const { dir, cleanup } = await tempDir('staged-settle');
  const { ws, stage } = await staging(dir);
  try {
    const state = modelState(9, 1);
    state.objects.model.weights = Array.from({ length: 16 }, (_, i) => tensor(`w${i}`, [64, 1024], 100 + i));
    delete state.objects.model.optimizer;
    const wire = staged(state, stage, 's1', (t, i) => (i === 0 ? (unlinkSync(join(stage, t.file)), t) : t));
    const error = await ws.store.commit(wire, meta('run-1', 1, { loss: 1 })).then(() => null, (e) => e);
    assert.is(error?.code, 'STORE_STAGED_MISMATCH');
    const objects = tree(join(dir, 'objects'));
    assert.equal(readdirSync(stage), [], 'the staged files are deleted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(tree(join(dir, 'objects')), objects, 'no blob was stored after the commit failed');
    assert.equal(readdirSync(stage), []);
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given staged names that are not plain, or no staging directory, when the supervisor places the reply, then STORE_STAGED_MISMATCH and no file outside the staging directory is touched', async () => {
  const { dir, cleanup } = await tempDir('staged-names');
  const { ws, stage } = await staging(dir);
  try {
    const outside = join(dir, 'precious');
    writeFileSync(outside, 'keep me');
    const base = modelState(6, 1);
    const reply = (file: string): WireState => {
      const t = base.objects.model.weights[0];
      return { ...base, objects: { model: { weights: [{ name: t.name, dtype: t.dtype, shape: t.shape, file, bytes: 7 }] } } };
    };
    for (const file of ['../../precious', 'a/b', '.', '..', '', outside, 'name with space']) {
      const error = (() => { try { inStagingDir(reply(file), stage); return null; } catch (e) { return e as { code: string }; } })();
      assert.is(error?.code, 'STORE_STAGED_MISMATCH', `'${file}' is refused`);
    }
    const noDir = (() => { try { inStagingDir(reply('s1-0'), null); return null; } catch (e) { return e as { code: string }; } })();
    assert.is(noDir?.code, 'STORE_STAGED_MISMATCH', 'a staged tensor without a staging directory is refused');
    assert.is(readFileSync(outside, 'utf8'), 'keep me');
    assert.equal(ws.store.catalog().order, []);
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given a store with compression, when a staged state is committed, then the files are read, stored compressed and deleted, and the checkpoint loads the same bytes', async () => {
  const { dir, cleanup } = await tempDir('staged-gzip');
  const { ws, stage } = await staging(dir, { compression: 'gzip' });
  try {
    const state = modelState(7, 1);
    const committed = await ws.store.commit(staged(state, stage, 's1'), meta('run-1', 1, { loss: 1 }));
    assert.is(committed.weightsDigest, weightsDigest(state));
    assert.equal(readdirSync(stage), []);
    const loaded = await ws.store.loadId(committed.checkpoint);
    assert.equal(tensorsOf(loaded.state).map((t) => sha(t.data)), tensorsOf(state).map((t) => sha(t.data)));
    assert.is(loaded.manifest.objects.model.weights[0].encoding, 'gzip');
  } finally {
    await ws.close();
    await cleanup();
  }
});

test('given a dead supervisor\'s staging directory that its orphaned trainer still writes into, when stale staging directories are removed, then that does not fail (the directory goes once the writer stopped)', async () => {
  const { dir, cleanup } = await tempDir('staged-race');
  try {
    const root = join(dir, 'staging');
    // Not a pid any process can have (above the kernel's pid_max): a dead supervisor.
    const stale = join(root, '99999999-1');
    for (let round = 0; round < 10; round++) {
      mkdirSync(stale, { recursive: true });
      for (let i = 0; i < 50; i++) writeFileSync(join(stale, `old-${i}`), 'x');
      // The orphan's stage worker: creates files in the directory until it is gone (as the SDK's worker would).
      const writer = new Worker(`
        const { openSync, writeSync, closeSync } = require('node:fs');
        const { workerData, parentPort } = require('node:worker_threads');
        let started = false;
        for (let i = 0; ; i++) {
          try { const fd = openSync(workerData + '/s' + i, 'wx'); writeSync(fd, Buffer.alloc(512)); closeSync(fd); }
          catch (e) { if (e.code === 'ENOENT') break; }
          if (!started) { started = true; parentPort.postMessage('writing'); }
        }
      `, { eval: true, workerData: stale });
      await new Promise((resolve) => writer.once('message', resolve));
      const removing = await removeStagingDirs(root).then(() => null, (e: Error) => e);
      await writer.terminate();
      assert.is(removing, null, `round ${round}: ${removing?.message}`);
      await removeStagingDirs(root);
      assert.not.ok(existsSync(stale), `round ${round}: removed once the writer stopped`);
    }
  } finally {
    await cleanup();
  }
});

test.run();
