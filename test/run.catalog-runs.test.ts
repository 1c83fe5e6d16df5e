// The runs of the read model (src/projections/catalog-runs.ts) folded over hand-made events: statuses, positions,
// history rewinds on resume, ids, checkpoints — what train() and the in-process fit read to start or resume.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LedgerEvent } from '../ledger/types.js';
import {
  evolveCatalog, initialCatalog, latestRun, nextRunId, runCheckpointIds, runHistory, runProgram, type CatalogState,
} from '../src/projections/catalog.js';

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): LedgerEvent => ({ seq: ++seq, id: `e${seq}`, stream: String(data.run ?? 'store'), type, v: 1, at: 1000 + seq, data });
const fold = (events: LedgerEvent[], from: CatalogState = initialCatalog()): CatalogState => events.reduce(evolveCatalog, from);
const started = (run: string) => ev('RunStarted', { run, trainer: 'fake', trainerVersion: '1.2', backend: 'cpu', protocol: 1, seed: 1, epochs: 5, batchSize: 8, trainerConfig: { trainer: 'mnist-mlp', config: { trainSize: 64 } }, policy: { preset: 'normal' }, pid: 1 });
const epoch = (run: string, n: number) => ev('EpochEnded', { run, epoch: n, step: n * 10, metrics: { loss: 1 / n }, ms: 5 });
const commit = (run: string, id: string, n: number) => ev('CheckpointCommitted', { run, checkpoint: id, epoch: n, step: n * 10, manifest: `m${id}`, weightsDigest: 'w', metrics: {}, bytes: { logical: 1, new: 1 }, blobs: [], objects: [], tags: [], trainer: 'fake', backend: 'cpu' });
const resumed = (run: string, n: number, from: string | null) => ev('RunResumed', { run, fromCheckpoint: from, epoch: n, step: n * 10, attempt: 1, reason: 'restart' });

test('given a run that ended epochs 1-3 and crashed, when resumed from epoch 2, then history drops epoch 3, the position is epoch 2 and the status is running again', () => {
  const state = fold([started('run-1'), epoch('run-1', 1), epoch('run-1', 2), epoch('run-1', 3),
    ev('RunCrashed', { run: 'run-1', reason: 'killed', attempt: 1 })]);
  assert.is(state.runs['run-1'].status, 'crashed');
  assert.is(state.runs['run-1'].crashes, 1);
  assert.is(state.runs['run-1'].endReason, 'killed');
  const again = fold([resumed('run-1', 2, 'ckpt-2')], state);
  assert.is(again.runs['run-1'].status, 'running');
  assert.is(again.runs['run-1'].endReason, undefined);
  assert.equal([again.runs['run-1'].epoch, again.runs['run-1'].step, again.runs['run-1'].resumes], [2, 20, 1]);
  assert.equal(runHistory(again, 'run-1').map((h) => h.epoch), [1, 2]);
  const later = fold([epoch('run-1', 3)], again);
  assert.equal(runHistory(later, 'run-1').map((h) => [h.epoch, h.seq]), [[1, 2], [2, 3], [3, seq]]);
  assert.is(later.runs['run-1'].epoch, 3);
});

test('given a resume from epoch 1 that crashed before ending an epoch, when the history is read, then the epochs after 1 stay dropped', () => {
  const state = fold([started('run-1'), epoch('run-1', 1), epoch('run-1', 2), epoch('run-1', 3), epoch('run-1', 4),
    ev('RunCrashed', { run: 'run-1', reason: 'killed', attempt: 1 }), resumed('run-1', 1, 'ckpt-1'),
    ev('RunCrashed', { run: 'run-1', reason: 'killed', attempt: 2 })]);
  assert.equal(runHistory(state, 'run-1').map((h) => [h.epoch, h.metrics.loss]), [[1, 1]]);
  assert.equal(runHistory(state, 'run-9'), []);
});

test('given finished and stopped runs, when folded, then statuses, digests, checkpoints, how each started and the next id follow', () => {
  const state = fold([
    started('run-1'), epoch('run-1', 1), commit('run-1', 'ckpt-1', 1),
    ev('TrainingEnded', { run: 'run-1', epoch: 1, step: 12, reason: 'done' }),
    ev('RunFinished', { run: 'run-1', epoch: 1, step: 12, weightsDigest: 'abc' }),
    started('run-2'), commit('run-2', 'ckpt-2', 0), ev('RunStopped', { run: 'run-2', reason: 'interrupted by SIGINT', signal: 'SIGINT' }),
  ]);
  const one = state.runs['run-1'];
  assert.equal([one.status, one.weightsDigest, one.step, one.endReason, one.endedAt], ['finished', 'abc', 12, 'done', 1000 + seq - 3]);
  assert.equal([one.trainerVersion, runProgram(one), one.trainerConfig.config, one.policy], ['1.2', 'mnist-mlp', { trainSize: 64 }, { preset: 'normal' }]);
  assert.equal(runCheckpointIds(state, 'run-1'), ['ckpt-1']);
  assert.equal(runCheckpointIds(state, 'run-2'), ['ckpt-2']);
  assert.is(one.checkpoints, 1);
  assert.is(state.runs['run-2'].status, 'stopped');
  assert.is(state.runs['run-2'].endedAt, 1000 + seq);
  assert.is(latestRun(state)?.id, 'run-2');
  assert.is(nextRunId(state), 'run-3');
  assert.is(nextRunId(initialCatalog()), 'run-1');
  assert.is(latestRun(initialCatalog()), undefined);
});

test('given a stopped run, when resumed with more epochs, then it runs again with no end time and the new plan', () => {
  const state = fold([started('run-1'), epoch('run-1', 1), ev('RunStopped', { run: 'run-1', reason: 'interrupted by SIGTERM', signal: 'SIGTERM' }),
    ev('RunResumed', { run: 'run-1', fromCheckpoint: null, epoch: 0, step: 0, attempt: 1, reason: 'resume', epochs: 9 })]);
  const r = state.runs['run-1'];
  assert.equal([r.status, r.endedAt, r.epochs, r.epoch], ['running', undefined, 9, 0]);
  assert.equal(runHistory(state, 'run-1'), []);
});

test('given events about an unknown run, when folded, then no run appears', () => {
  const state = fold([started('run-1'), epoch('run-9', 1), ev('RunCrashed', { run: 'run-9', reason: 'x', attempt: 1 })]);
  assert.equal(state.runOrder, ['run-1']);
  assert.equal(runHistory(state, 'run-1'), []);
});

test.run();
