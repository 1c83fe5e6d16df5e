import { test } from 'uvu';
import { verifiedBackups } from '../src/projections/catalog.js';
import * as assert from 'uvu/assert';
import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkspace, type Workspace } from '../src/workspace.js';
import { weightsDigest } from '../src/store/digest.js';
import type { CatalogState } from '../src/projections/catalog.js';
import type { LedgerEvent } from '../ledger/types.js';
import { bytes, meta, modelState, tempDir, tensor } from './store.fixtures.js';

async function events(ws: Workspace, type: string): Promise<LedgerEvent<any>[]> {
  const found: LedgerEvent<any>[] = [];
  for await (const e of ws.ledger.read({ types: [type] })) found.push(e);
  return found;
}

/** Three checkpoints sharing a frozen kernel; each has its own bias and slots. */
async function shared(dir: string): Promise<Workspace> {
  const ws = await openWorkspace(dir, { create: true });
  for (let i = 1; i <= 3; i++) {
    const state = modelState(i, i);
    state.objects.model.weights[0] = tensor('dense/kernel', [4, 3], 4242);
    await ws.store.commit(state, meta('run-1', i, { val_loss: 1 / i }));
  }
  return ws;
}

test('given three checkpoints sharing a kernel, when the first is pruned, then only its own blobs are deleted and the others still load', async () => {
  const { dir, cleanup } = await tempDir('prune');
  try {
    const ws = await shared(dir);
    const one = ws.store.entry('ckpt-1');
    const kernel = (await ws.store.load('ckpt-1')).manifest.objects.model.weights[0].blob;
    const done = await ws.store.prune('ckpt-1', { reason: 'test' });
    const own = one.blobs.filter((b) => b !== kernel && b !== (ws.store.entry('ckpt-2').blobs.find((x) => x === b)));
    assert.is(done.blobsDeleted, own.length);
    for (const b of own) assert.is(await ws.store.blobs.size(b), null);
    assert.ok((await ws.store.blobs.size(kernel))! > 0);
    const catalog = ws.ledger.state<CatalogState>('catalog');
    assert.is(catalog.blobRefs[kernel], 2);
    assert.is(catalog.checkpoints['ckpt-1'].status, 'pruned');
    const intents = await events(ws, 'PruneIntended');
    assert.is(intents.length, 1);
    assert.is(done.intentSeq, intents[0].seq);
    assert.is((await ws.store.load('ckpt-1').catch((e) => e)).code, 'STORE_PRUNED');
    assert.is((await ws.store.verify()).every((r) => r.ok), true);
    assert.is((await ws.store.gc()).blobsDeleted, 0);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a pinned checkpoint, when pruned, then STORE_PINNED until it is unpinned', async () => {
  const { dir, cleanup } = await tempDir('pin');
  try {
    const ws = await shared(dir);
    await ws.store.pin('ckpt-2', 'release');
    assert.is((await ws.store.prune('ckpt-2').catch((e) => e)).code, 'STORE_PINNED');
    assert.is(ws.store.entry('ckpt-2').status, 'kept');
    await ws.store.unpin('ckpt-2');
    assert.is((await ws.store.prune('ckpt-2')).checkpoint, 'ckpt-2');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a durable prune intent without its done event, when the workspace is reopened, then the prune is finished', async () => {
  const { dir, cleanup } = await tempDir('intent');
  try {
    let ws = await shared(dir);
    const { seqs } = await ws.ledger.append([{ stream: 'run-1', type: 'PruneIntended', data: { kind: 'prune', causeSeq: 1, rule: 'keepTopK', reason: 'not in top 2', checkpoint: 'ckpt-1' } }], { durable: true });
    assert.equal(Object.keys(ws.ledger.state<CatalogState>('catalog').pendingPrunes), ['ckpt-1']);
    const own = ws.store.entry('ckpt-1').blobs.filter((b) => ws.ledger.state<CatalogState>('catalog').blobRefs[b] === 1);
    await unlink(ws.store.blobs.path(own[0])); // the crash happened half-way through the deletes
    await ws.close();
    ws = await openWorkspace(dir);
    const pruned = await events(ws, 'CheckpointPruned');
    assert.equal(pruned.map((e) => [e.data.checkpoint, e.data.intentSeq]), [['ckpt-1', seqs[0]]]);
    assert.is(pruned[0].data.blobsDeleted, own.length - 1);
    assert.equal(ws.ledger.state<CatalogState>('catalog').pendingPrunes, {});
    assert.equal(await ws.store.blobs.list().then((l) => l.filter((b) => own.includes(b.hash))), []);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given leftover temp files and unreferenced blobs, when gc runs, then dry-run reports them, gc removes exactly them, and every checkpoint still verifies', async () => {
  const { dir, cleanup } = await tempDir('gc');
  try {
    const ws = await shared(dir);
    const [orphan] = await ws.store.blobs.putMany([bytes(1000, 77)]);
    await writeFile(join(ws.store.blobs.tmpDir, 'blob.123.abc.tmp'), bytes(500, 1));
    const dry = await ws.store.gc({ dryRun: true });
    assert.equal({ ...dry, blobs: dry.blobs.length }, { dryRun: true, blobsDeleted: 1, bytesFreed: 1000, tempsDeleted: 1, blobs: 1 });
    assert.is(await ws.store.blobs.size(orphan.hash), 1000);
    const real = await ws.store.gc();
    assert.equal([real.blobsDeleted, real.bytesFreed, real.tempsDeleted], [1, 1000, 1]);
    assert.is(await ws.store.blobs.size(orphan.hash), null);
    assert.equal(await readdir(ws.store.blobs.tmpDir), []);
    assert.is((await ws.store.verify()).every((r) => r.ok), true);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given shared blobs, when summarised, then logical exceeds physical by the shared kernel and best/latest are named', async () => {
  const { dir, cleanup } = await tempDir('sum');
  try {
    const ws = await shared(dir);
    const s = await ws.store.summary();
    const logical = ['ckpt-1', 'ckpt-2', 'ckpt-3'].reduce((n, id) => n + ws.store.entry(id).bytes.logical, 0);
    const onDisk = (await ws.store.blobs.list()).reduce((n, b) => n + b.size, 0);
    assert.is(s.logicalBytes, logical);
    assert.is(s.physicalBytes, onDisk);
    const m = (await ws.store.load('ckpt-1')).manifest.objects.model;
    const sharedBytes = m.weights[0].stored + m.topology!.stored; // the frozen kernel and the topology
    assert.is(m.weights[0].stored, 48);
    assert.is(s.physicalBytes, s.logicalBytes - 2 * sharedBytes);
    assert.ok(s.dedupeRatio > 1);
    assert.equal([s.checkpoints.total, s.checkpoints.kept, s.latest, s.best], [3, 3, 'ckpt-3', 'ckpt-3']);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a verified backup, when the main blobs are lost, then the checkpoint still loads from the backup, the main copy is repaired and both the loss and the repair are recorded', async () => {
  const { dir, cleanup } = await tempDir('backup');
  try {
    const ws = await shared(dir);
    const target = join(dir, 'backup');
    const digest = weightsDigest((await ws.store.load('ckpt-2')).state);
    const verified = await ws.store.backup('ckpt-2', target);
    assert.equal([verified.checkpoint, verified.target, verified.blobs], ['ckpt-2', target, ws.store.entry('ckpt-2').blobs.length]);
    assert.equal((await readdir(join(target, 'checkpoints'))), ['ckpt-2.json']);
    assert.equal(verifiedBackups(ws.store.entry('ckpt-2')), [target]);
    for (const blob of ws.store.entry('ckpt-2').blobs) await unlink(ws.store.blobs.path(blob));
    const loaded = await ws.store.load('ckpt-2');
    assert.is(weightsDigest(loaded.state), digest);
    for (const blob of ws.store.entry('ckpt-2').blobs) assert.is.not(await ws.store.blobs.size(blob), null, 'repaired');
    // The loss and the repair are both on record (issue 12 item 7), and the checkpoint is kept again.
    const lost = ws.store.entry('ckpt-2').blobs.length;
    assert.is((await events(ws, 'CheckpointMissing')).length, lost);
    const repaired = await events(ws, 'CheckpointRepaired');
    assert.equal(repaired.map((e) => [e.data.checkpoint, e.data.from, e.data.fault]), Array.from({ length: lost }, () => ['ckpt-2', target, 'missing']));
    assert.is(ws.store.entry('ckpt-2').status, 'kept');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test('given a backup target that cannot be written, when backing up, then STORE_BACKUP_FAILED and a BackupFailed event', async () => {
  const { dir, cleanup } = await tempDir('bfail');
  try {
    const ws = await shared(dir);
    const target = join(dir, 'file-not-dir');
    await writeFile(target, 'x');
    const error = await ws.store.backup('latest', target).catch((e) => e);
    assert.is(error.code, 'STORE_BACKUP_FAILED');
    const failed = await events(ws, 'BackupFailed');
    assert.equal(failed.map((e) => [e.data.checkpoint, e.data.target]), [['ckpt-3', target]]);
    assert.equal(verifiedBackups(ws.store.entry('ckpt-3')), []);
    await ws.close();
  } finally {
    await cleanup();
  }
});

test.run();
