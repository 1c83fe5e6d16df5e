import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLedger, openMemoryLedger } from '../ledger/index.js';
import type { EventInput } from '../ledger/types.js';
import { createPolicy, keptCheckpoints, policyProjection, replay, type PolicyState } from '../src/policy/index.js';
import { RUN, Sim } from './policy.fixtures.js';

const LOSSES = [0.9, 0.5, 0.7, 0.4, 0.8, 0.6, 0.85, 0.45, 0.5, 0.55];

/** A recorded run under the `normal` preset (top 3 + last 2). */
function recordedRun(): Sim {
  const sim = new Sim(createPolicy('normal'));
  sim.losses(LOSSES);
  sim.feed(sim.log.ended(10, 100));
  return sim;
}

test('given a recorded normal run, when replayed under the same policy, then decisions and kept set match the run', () => {
  const sim = recordedRun();
  const r = replay(sim.log.events, 'normal');
  assert.equal(r.decisions, sim.decisions);
  assert.equal(r.kept, sim.live);
  assert.equal(r.actuallyKept, sim.live);
  assert.ok(r.wouldSave.every((w) => w.available));
});

test('given a recorded normal run, when replayed under short (best only), then it keeps only the best, an available checkpoint', () => {
  const sim = recordedRun();
  const r = replay(sim.log.events, 'short');
  assert.equal(r.wouldSave.map((w) => w.epoch), [1, 2, 4]);
  assert.equal(r.kept, ['ckpt-4']);
  assert.equal(r.actuallyKept, ['ckpt-2', 'ckpt-4', 'ckpt-8', 'ckpt-9', 'ckpt-10']);
  assert.ok(r.decisions.some((d) => d.kind === 'skip' && d.reason === 'val_loss did not improve from 0.4000'));
});

test('given a run that saved every 5 epochs, when replayed with save-best-only, then unsaved epochs are reported as not available', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: 5 }));
  sim.losses(LOSSES);
  const r = replay(sim.log.events, { save_best_only: true, save_top_k: 1 });
  const unavailable = r.wouldSave.filter((w) => !w.available);
  assert.equal(unavailable.map((w) => w.note), [
    'would have saved epoch 1 (not available: the run did not save it)',
    'would have saved epoch 2 (not available: the run did not save it)',
    'would have saved epoch 4 (not available: the run did not save it)',
  ]);
  assert.equal(r.kept, ['epoch-4']);
  assert.equal(r.actuallyKept, ['ckpt-1', 'ckpt-2']);
  assert.equal(sim.liveEpochs(), [5, 10]);
});

async function appendAll(ledger: Awaited<ReturnType<typeof openMemoryLedger>>, sim: Sim, from: number, to: number) {
  const inputs: EventInput[] = sim.log.events.slice(from, to).map((e) => ({ id: e.id, stream: e.stream, type: e.type, at: e.at, data: e.data }));
  if (inputs.length) await ledger.append(inputs);
}

test('given the policy registered as a LevelDB projection, when the ledger is closed mid-run and reopened, then the state equals a full rebuild', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-policy-'));
  try {
    const sim = new Sim(createPolicy({ preset: 'normal', patience: 3, monitors: ['val_loss', 'val_acc'] }));
    sim.losses(LOSSES, (i) => ({ val_acc: 1 - LOSSES[i] }));
    const projection = policyProjection(createPolicy({ preset: 'normal', patience: 3, monitors: ['val_loss', 'val_acc'] }), RUN);
    const half = Math.floor(sim.log.events.length / 2);
    let ledger = await openLedger(dir, { projections: [projection], snapshotEvery: 7 });
    await appendAll(ledger, sim, 0, half);
    await ledger.close();
    ledger = await openLedger(dir, { projections: [projection], snapshotEvery: 7 });
    await appendAll(ledger, sim, half, sim.log.events.length);
    const live = ledger.state<PolicyState>(projection.name);
    const rebuilt = await ledger.rebuild<PolicyState>(projection);
    await ledger.close();
    // seqs differ from the in-memory log only if the ledger renumbered; both start at 1 and append in order.
    assert.equal(live, rebuilt);
    assert.equal(keptCheckpoints(live).map((c) => c.id), sim.live);
    assert.is(live.progress.monitors[0].best, 0.4);
    assert.is(live.progress.monitors[1].best, 0.6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('given events of another run on the same ledger, when the projection folds, then only its run counts', async () => {
  const ledger = await openMemoryLedger();
  const projection = policyProjection(createPolicy('normal'), RUN);
  await ledger.register(projection);
  await ledger.append([{ stream: 'run-2', type: 'EpochEnded', data: { run: 'run-2', epoch: 1, step: 1, metrics: { val_loss: 0.1 }, ms: 1 } }]);
  await ledger.append([{ stream: RUN, type: 'EpochEnded', data: { run: RUN, epoch: 1, step: 1, metrics: { val_loss: 0.7 }, ms: 1 } }]);
  assert.is(ledger.state<PolicyState>(projection.name).progress.monitors[0].best, 0.7);
  await ledger.close();
});

test('given a pin appended on the store stream, when the projection folds, then the tracked checkpoint is pinned', async () => {
  const ledger = await openMemoryLedger();
  const projection = policyProjection(createPolicy({ keepLast: 1 }), RUN);
  await ledger.register(projection);
  const commit = (id: string, epoch: number) => ({ stream: RUN, type: 'CheckpointCommitted', data: { checkpoint: id, run: RUN, epoch, step: epoch, metrics: {}, labels: [] } });
  await ledger.append([commit('ckpt-1', 1)]);
  await ledger.append([{ stream: 'store', type: 'CheckpointPinned', data: { checkpoint: 'ckpt-1' } }]);
  await ledger.append([commit('ckpt-2', 2), commit('ckpt-3', 3)]);
  const state = ledger.state<PolicyState>(projection.name);
  assert.equal(state.pinned, ['ckpt-1']);
  assert.equal(keptCheckpoints(state).map((c) => c.id), ['ckpt-1', 'ckpt-3']);
  await ledger.close();
});

test.run();
