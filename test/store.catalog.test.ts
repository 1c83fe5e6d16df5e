import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unlink } from 'node:fs/promises';
import { openWorkspace } from '../src/workspace.js';
import { catalogProjection, monitorsOf, type CatalogState } from '../src/projections/catalog.js';
import { bestOf, latestOf, primaryMonitor } from '../src/store/refs.js';
import { meta, modelState, tempDir } from './store.fixtures.js';

test('given a normalized policy with two monitors and early stopping, when monitors are read, then the first is primary with its mode', () => {
  const policy = { monitors: [{ metric: 'val_accuracy', mode: 'max', minDelta: 0 }, { metric: 'val_loss', mode: 'min' }], earlyStopping: { monitor: 'val_mae', mode: 'auto' } };
  assert.equal(monitorsOf(policy), [
    { monitor: 'val_accuracy', mode: 'max' },
    { monitor: 'val_loss', mode: 'min' },
    { monitor: 'val_mae', mode: 'min' },
  ]);
});

test('given a state and an event, when the catalog evolves, then the previous state is left untouched', () => {
  const before = catalogProjection.init();
  const frozen = JSON.stringify(before);
  const after = catalogProjection.evolve(before, { seq: 1, id: 'x', stream: 'run-1', type: 'CheckpointCommitted', v: 1, at: 5, data: { checkpoint: 'ckpt-1', run: 'run-1', epoch: 1, step: 1, metrics: { loss: 1 }, blobs: ['a'], manifest: 'a', tags: [] } });
  assert.is(JSON.stringify(before), frozen);
  assert.is(latestOf(after)?.id, 'ckpt-1');
  assert.is(after.nextId, 2);
  const next = catalogProjection.evolve(after, { seq: 2, id: 'y', stream: 'run-1', type: 'EpochEnded', v: 1, at: 6, data: {} });
  assert.is(next.checkpoints, after.checkpoints, 'an epoch shares the checkpoints untouched');
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

test('given every kind of catalog event, when folded over deep-frozen states, then nothing is mutated and the result is right', () => {
  const commit = (n: number, blobs: string[], metrics: Record<string, number>) => ({ type: 'CheckpointCommitted', data: { checkpoint: `ckpt-${n}`, run: 'run-1', epoch: n, step: n, metrics, blobs, manifest: blobs[0], tags: [] } });
  const events = [
    { type: 'RunStarted', data: { run: 'run-1', policy: { monitors: [{ metric: 'val_loss', mode: 'min' }] } } },
    commit(1, ['m1', 'k'], { val_loss: 0.5 }),
    commit(2, ['m2', 'k'], { val_loss: 0.3 }),
    commit(3, ['m3', 'k'], { val_loss: 0.4 }),
    { type: 'PruneIntended', data: { kind: 'prune', checkpoint: 'ckpt-1' } },
    { type: 'CheckpointPruned', data: { checkpoint: 'ckpt-1', intentSeq: 5 } },
    { type: 'CheckpointCorrupted', data: { checkpoint: 'ckpt-2', blob: 'k', detail: 'flip' } },
    { type: 'CheckpointTagged', data: { checkpoint: 'ckpt-3', tags: ['x'], description: 'd' } },
    { type: 'PruneIntended', data: { kind: 'prune', checkpoint: 'ckpt-3' } },
    { type: 'CheckpointPinned', data: { checkpoint: 'ckpt-3' } },
    { type: 'BackupVerified', data: { checkpoint: 'ckpt-3', target: '/b' } },
    { type: 'CheckpointImported', data: { checkpoint: 'ckpt-3', originalId: 'ckpt-9', from: '/x.ckpt' } },
    { type: 'CheckpointVerified', data: { checkpoint: 'ckpt-2' } },
    { type: 'CheckpointUnpinned', data: { checkpoint: 'ckpt-3' } },
    { type: 'EpochEnded', data: {} },
  ];
  let state = catalogProjection.init();
  events.forEach((e, i) => {
    state = catalogProjection.evolve(deepFreeze(state), { seq: i + 1, id: String(i), stream: 'run-1', v: 1, at: i, ...e });
  });
  assert.equal(state.blobRefs, { m2: 1, m3: 1, k: 2 });
  assert.equal(state.order, ['ckpt-1', 'ckpt-2', 'ckpt-3']);
  assert.equal([state.checkpoints['ckpt-1'].status, state.checkpoints['ckpt-2'].status, state.checkpoints['ckpt-3'].status], ['pruned', 'kept', 'kept']);
  assert.equal(state.checkpoints['ckpt-2'].fault, { blob: 'k', detail: 'flip', seq: 7 });
  // the pin cancelled the pending prune of ckpt-3
  assert.equal(state.checkpoints['ckpt-3'].tags, ['x']);
  assert.equal(state.checkpoints['ckpt-3'].backups, [{ target: '/b', seq: 11, ok: true }]);
  assert.is(state.checkpoints['ckpt-3'].pinned, false);
  assert.equal(state.checkpoints['ckpt-3'].importedFrom, { originalId: 'ckpt-9', from: '/x.ckpt' });
  assert.equal(state.pendingPrunes, {});
  assert.equal([latestOf(state)?.id, bestOf(state, 'val_loss')?.id, state.nextId], ['ckpt-3', 'ckpt-2', 4]);
});

test('given commits, prunes, faults, tags, pins and backups, when the ledger is reopened or rebuilt, then the catalog is identical', async () => {
  const { dir, cleanup } = await tempDir('cat');
  try {
    let ws = await openWorkspace(dir, { create: true, ledger: { snapshotEvery: 3 } });
    await ws.ledger.append([{ stream: 'run-1', type: 'RunStarted', data: { run: 'run-1', policy: { monitors: [{ metric: 'val_acc', mode: 'max' }] } } }], { durable: true });
    for (let i = 1; i <= 5; i++) await ws.store.commit(modelState(i, i), meta('run-1', i, { val_acc: [0.5, 0.7, 0.6, 0.9, 0.8][i - 1], loss: 1 / i }));
    await ws.store.prune('ckpt-1');
    await ws.store.tag('ckpt-2', ['keep'], 'the second');
    await ws.store.pin('ckpt-2');
    await ws.store.backup('ckpt-3', `${dir}/backup`);
    await unlink(ws.store.blobs.path(ws.store.entry('ckpt-4').manifest));
    await ws.store.verify(['ckpt-4']);
    const live = structuredClone(ws.ledger.state<CatalogState>('catalog'));
    assert.is(bestOf(live, 'val_acc')?.id, 'ckpt-5', 'ckpt-4 (0.9) is missing, so 0.8 is best');
    assert.is(primaryMonitor(live), 'val_acc');
    assert.equal(live.checkpoints['ckpt-2'].tags, ['keep']);
    assert.is(live.checkpoints['ckpt-2'].pinned, true);
    assert.is(live.checkpoints['ckpt-4'].status, 'missing');
    assert.is(live.nextId, 6);
    const rebuilt = await ws.ledger.rebuild<CatalogState>(catalogProjection);
    assert.equal(rebuilt, live);
    await ws.close();
    ws = await openWorkspace(dir);
    assert.equal(ws.ledger.state<CatalogState>('catalog'), live);
    const next = await ws.store.commit(modelState(6, 6), meta('run-1', 6, { val_acc: 0.1 }));
    assert.is(next.checkpoint, 'ckpt-6', 'ids continue after the pruned and missing ones');
    await ws.close();
  } finally {
    await cleanup();
  }
});

test.run();
