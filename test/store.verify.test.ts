import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile, unlink, truncate, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkspace, type Workspace } from '../src/workspace.js';
import { watchBlobs } from '../src/store/watcher.js';
import type { CatalogState } from '../src/projections/catalog.js';
import { bestOf, latestOf } from '../src/store/refs.js';
import type { LedgerEvent } from '../ledger/types.js';
import { meta, modelState, tempDir } from './store.fixtures.js';

/** Wait (up to 5 s) until the catalog marks checkpoint `id` with `status`. */
async function waitForStatus(ws: Workspace, id: string, status: string): Promise<void> {
  const now = () => ws.ledger.state<CatalogState>('catalog').checkpoints[id].status;
  const t0 = Date.now();
  while (now() !== status && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  assert.is(now(), status, `${id} is ${now()}`);
}

async function events(ws: Workspace, type: string): Promise<LedgerEvent<any>[]> {
  const found: LedgerEvent<any>[] = [];
  for await (const e of ws.ledger.read({ types: [type] })) found.push(e);
  return found;
}

/** Three checkpoints of run-1 with val_loss 0.5, 0.3 (best), 0.4 (latest). */
async function threeCheckpoints(dir: string): Promise<Workspace> {
  const ws = await openWorkspace(dir, { create: true });
  await ws.store.commit(modelState(1, 1), meta('run-1', 1, { val_loss: 0.5 }));
  await ws.store.commit(modelState(2, 2), meta('run-1', 2, { val_loss: 0.3 }));
  await ws.store.commit(modelState(3, 3), meta('run-1', 3, { val_loss: 0.4 }));
  return ws;
}

const damages = {
  'a flipped bit': async (path: string) => { const b = await readFile(path); b[b.length >> 1] ^= 0x04; await writeFile(path, b); },
  'a truncation': async (path: string) => { await truncate(path, 5); },
  'a deletion': async (path: string) => { await unlink(path); },
} as const;

test('given a blob flipped on disk, when a new checkpoint holds the same tensor, then the blob is rewritten and the new checkpoint verifies', async () => {
  const { dir, cleanup } = await tempDir('redo');
  try {
    const ws = await openWorkspace(dir, { create: true });
    await ws.store.commit(modelState(1, 1), meta('run-1', 1, { val_loss: 0.5 }));
    const { manifest } = await ws.store.load('ckpt-1');
    const kernel = manifest.objects.model.weights[0].blob;
    await damages['a flipped bit'](ws.store.blobs.path(kernel));
    await ws.store.commit(modelState(1, 2), meta('run-1', 2, { val_loss: 0.4 }));
    const again = await ws.store.load('ckpt-2');
    assert.is(again.manifest.objects.model.weights[0].blob, kernel, 'the same content-addressed blob');
    assert.is((await ws.store.load('ckpt-1')).id, 'ckpt-1', 'the rewrite repaired the older checkpoint too');
    await ws.close();
  } finally {
    await cleanup();
  }
});

for (const [name, damage] of Object.entries(damages)) {
  test(`given ${name} in the latest checkpoint's kernel, when latest is loaded, then it is recorded and latest falls back to the previous checkpoint`, async () => {
    const { dir, cleanup } = await tempDir('dmg');
    try {
      const ws = await threeCheckpoints(dir);
      const { manifest } = await ws.store.load('ckpt-3');
      const kernel = manifest.objects.model.weights[0].blob;
      await damage(ws.store.blobs.path(kernel));

      const error = await ws.store.load('ckpt-3').catch((e) => e);
      assert.is(error.code, 'STORE_CORRUPT');
      assert.match(error.message, /ckpt-3/);
      assert.match(error.message, new RegExp(kernel.slice(0, 12)));
      assert.is(error.details.blob, kernel);

      const type = name === 'a deletion' ? 'CheckpointMissing' : 'CheckpointCorrupted';
      const recorded = await events(ws, type);
      assert.is(recorded.length, 1);
      assert.is(recorded[0].data.checkpoint, 'ckpt-3');
      assert.is(recorded[0].data.blob, kernel);
      const catalog = ws.ledger.state<CatalogState>('catalog');
      assert.is(catalog.checkpoints['ckpt-3'].status, name === 'a deletion' ? 'missing' : 'corrupt');
      assert.is(latestOf(catalog)?.id, 'ckpt-2');
      assert.is((await ws.store.load('latest')).id, 'ckpt-2');
      assert.is(await ws.store.resolve('run-1/latest'), 'ckpt-2');
      await ws.close();
    } finally {
      await cleanup();
    }
  });
}

test('given the best checkpoint is damaged but not yet known to be, when best is loaded, then the next best that verifies is returned', async () => {
  const { dir, cleanup } = await tempDir('best');
  try {
    const ws = await threeCheckpoints(dir);
    assert.is(await ws.store.resolve('best', { verify: false }), 'ckpt-2');
    const entry = ws.store.entry('ckpt-2');
    await unlink(ws.store.blobs.path(entry.manifest));
    const loaded = await ws.store.load('best:val_loss');
    assert.is(loaded.id, 'ckpt-3', 'val_loss 0.4 is the next best');
    assert.is(bestOf(ws.ledger.state<CatalogState>('catalog'), 'val_loss')?.id, 'ckpt-3');
    const missing = await events(ws, 'CheckpointMissing');
    assert.equal(missing.map((e) => [e.data.checkpoint, e.data.blob]), [['ckpt-2', entry.manifest]]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given references of every kind, when resolved, then each names the right checkpoint', async () => {
  const { dir, cleanup } = await tempDir('refs');
  try {
    const ws = await threeCheckpoints(dir);
    await ws.store.commit(modelState(4, 1), meta('run-2', 1, { val_loss: 0.9, val_acc: 0.7 }));
    await ws.store.commit(modelState(5, 2), meta('run-2', 2, { val_loss: 0.8, val_acc: 0.6 }));
    assert.is(await ws.store.resolve('latest'), 'ckpt-5');
    assert.is(await ws.store.resolve('run-1/latest'), 'ckpt-3');
    assert.is(await ws.store.resolve('best'), 'ckpt-2');
    assert.is(await ws.store.resolve('best:val_acc'), 'ckpt-4', 'accuracy is maximised');
    assert.is(await ws.store.resolve('run-2/best:val_loss'), 'ckpt-5');
    assert.is(await ws.store.resolve('epoch:2'), 'ckpt-5');
    assert.is(await ws.store.resolve('run-1/epoch:2'), 'ckpt-2');
    assert.is(await ws.store.resolve('ckpt-1'), 'ckpt-1');
    assert.is((await ws.store.resolve('ckpt-77').catch((e) => e)).code, 'CLI_REF_UNKNOWN');
    assert.is((await ws.store.resolve('newest').catch((e) => e)).code, 'CLI_REF_INVALID');
    assert.is((await ws.store.loadNewestVerified('run-9')), null);
    assert.is((await ws.store.loadNewestVerified('run-1'))!.id, 'ckpt-3');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a run whose policy monitors val_acc in max mode, when best is resolved, then plain best means best:val_acc', async () => {
  const { dir, cleanup } = await tempDir('mon');
  try {
    const ws = await openWorkspace(dir, { create: true });
    await ws.ledger.append([{ stream: 'run-1', type: 'RunStarted', data: { run: 'run-1', policy: { saveBestOnly: true, monitor: 'val_acc', mode: 'max' } } }], { durable: true });
    await ws.store.commit(modelState(1, 1), meta('run-1', 1, { val_acc: 0.5, val_loss: 0.1 }));
    await ws.store.commit(modelState(2, 2), meta('run-1', 2, { val_acc: 0.8, val_loss: 0.4 }));
    assert.is(await ws.store.resolve('best'), 'ckpt-2');
    assert.is(await ws.store.resolve('best:val_loss'), 'ckpt-1');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a corrupt checkpoint that was repaired, when loaded by id, then it is verified again and becomes latest again', async () => {
  const { dir, cleanup } = await tempDir('rep');
  try {
    const ws = await threeCheckpoints(dir);
    const path = ws.store.blobs.path(ws.store.entry('ckpt-3').manifest);
    const good = await readFile(path);
    await writeFile(path, Buffer.from('garbage'));
    const results = await ws.store.verify();
    assert.equal(results.map((r) => r.ok), [true, true, false]);
    assert.is((latestOf(ws.ledger.state<CatalogState>('catalog'))?.id ?? null), 'ckpt-2');
    await writeFile(path, good);
    assert.is((await ws.store.loadId('ckpt-3')).id, 'ckpt-3');
    assert.is((latestOf(ws.ledger.state<CatalogState>('catalog'))?.id ?? null), 'ckpt-3');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a watched workspace, when someone else deletes a referenced blob, then CheckpointMissing is recorded within about a second', async () => {
  const { dir, cleanup } = await tempDir('watch');
  try {
    let ws = await threeCheckpoints(dir);
    await ws.close();
    ws = await openWorkspace(dir, { watch: true });
    const kernel = (await ws.store.load('ckpt-3')).manifest.objects.model.weights[0].blob;
    const t0 = Date.now();
    await unlink(ws.store.blobs.path(kernel));
    while (ws.ledger.state<CatalogState>('catalog').checkpoints['ckpt-3'].status === 'kept' && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    const elapsed = Date.now() - t0;
    assert.is(ws.ledger.state<CatalogState>('catalog').checkpoints['ckpt-3'].status, 'missing');
    assert.ok(elapsed < 1500, `recorded after ${elapsed} ms`);
    assert.is((latestOf(ws.ledger.state<CatalogState>('catalog'))?.id ?? null), 'ckpt-2');
    // A blob rewritten in place by someone else is recorded as corrupt.
    const bias = (await ws.store.load('ckpt-2')).manifest.objects.model.weights[1].blob;
    const t1 = Date.now();
    await writeFile(ws.store.blobs.path(bias), Buffer.from('not the bias'));
    while (ws.ledger.state<CatalogState>('catalog').checkpoints['ckpt-2'].status === 'kept' && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.is(ws.ledger.state<CatalogState>('catalog').checkpoints['ckpt-2'].status, 'corrupt');
    assert.ok(Date.now() - t1 < 1500, `recorded after ${Date.now() - t1} ms`);
    assert.is((await ws.store.load('latest')).id, 'ckpt-1');
    // A whole prefix directory removed at once is noticed too.
    const topology = (await ws.store.load('ckpt-1')).manifest.objects.model.topology!.blob;
    const t2 = Date.now();
    await rm(join(ws.store.blobs.objectsDir, topology.slice(0, 2)), { recursive: true });
    while ((latestOf(ws.ledger.state<CatalogState>('catalog'))?.id ?? null) !== null && Date.now() - t2 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.is((latestOf(ws.ledger.state<CatalogState>('catalog'))?.id ?? null), null, 'the shared topology is gone, so nothing is loadable');
    assert.ok(Date.now() - t2 < 1500, `recorded after ${Date.now() - t2} ms`);
    // The store's own prune is not reported as a loss.
    await ws.store.prune('ckpt-1');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await events(ws, 'CheckpointMissing')).map((e) => e.data), [{ checkpoint: 'ckpt-3', blob: kernel }, { checkpoint: 'ckpt-1', blob: topology }]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a watched workspace, when checkpoints committed after it opened lose blobs, then that is recorded too, and a blob the store deleted and wrote again is watched again', async () => {
  const { dir, cleanup } = await tempDir('watch-live');
  try {
    const ws = await openWorkspace(dir, { create: true, watch: true });
    await ws.watcher!.ready;
    await ws.store.commit(modelState(1, 1), meta('run-1', 1, { val_loss: 0.5 }));
    await ws.store.commit(modelState(2, 2), meta('run-1', 2, { val_loss: 0.4 }));
    await writeFile(ws.store.blobs.path((await ws.store.load('ckpt-2')).manifest.objects.model.weights[1].blob), Buffer.from('not the bias'));
    await waitForStatus(ws, 'ckpt-2', 'corrupt');
    // The store's own prune deletes ckpt-1's blobs: not a loss. Committing the same tensors again rewrites them.
    const kernel = (await ws.store.load('ckpt-1')).manifest.objects.model.weights[0].blob;
    // (At once: chokidar reports the deletion after the new commit, which must not end the watch of the new file.)
    await ws.store.prune('ckpt-1');
    await ws.store.commit(modelState(1, 3), meta('run-1', 3, { val_loss: 0.3 }));
    assert.is((await ws.store.load('ckpt-3')).manifest.objects.model.weights[0].blob, kernel);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await events(ws, 'CheckpointMissing'), []);
    await unlink(ws.store.blobs.path(kernel));
    await waitForStatus(ws, 'ckpt-3', 'missing');
    assert.equal((await events(ws, 'CheckpointMissing')).map((e) => e.data), [{ checkpoint: 'ckpt-3', blob: kernel }]);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given more referenced blobs than the file-watch limit, when blobs are lost, then watching the prefix directories records it', async () => {
  const { dir, cleanup } = await tempDir('watch-dirs');
  try {
    const ws = await openWorkspace(dir, { create: true });
    await ws.store.commit(modelState(1, 1), meta('run-1', 1, { val_loss: 0.5 }));
    await ws.store.commit(modelState(2, 2), meta('run-1', 2, { val_loss: 0.4 }));
    const referenced = Object.keys(ws.ledger.state<CatalogState>('catalog').blobRefs).length;
    // Room for what is referenced now, not for the next commit's new blobs: the watcher switches to directories.
    const watcher = watchBlobs(ws.store.ctx, (error) => { throw error; }, referenced);
    await watcher.ready;
    await ws.store.commit(modelState(3, 3), meta('run-1', 3, { val_loss: 0.3 }));
    // A blob only the new commit references (not watched as a file) is seen through its directory.
    const kernel3 = (await ws.store.load('ckpt-3')).manifest.objects.model.weights[0].blob;
    await unlink(ws.store.blobs.path(kernel3));
    await waitForStatus(ws, 'ckpt-3', 'missing');
    // A whole prefix directory removed.
    const kernel1 = (await ws.store.load('ckpt-1')).manifest.objects.model.weights[0].blob;
    await rm(join(ws.store.blobs.objectsDir, kernel1.slice(0, 2)), { recursive: true });
    await waitForStatus(ws, 'ckpt-1', 'missing');
    await watcher.close();
    await ws.close();
  } finally {
    await cleanup();
  }
});

test.run();
