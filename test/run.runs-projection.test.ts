// The runs projection folded over hand-made events: statuses, history rewinds on resume, ids, checkpoints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LedgerEvent } from '../ledger/types.js';
import { evolveRuns, latestRun, nextRunId, runsProjection, type RunsState } from '../src/projections/runs.js';

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): LedgerEvent => ({ seq: ++seq, id: `e${seq}`, stream: String(data.run ?? 'store'), type, v: 1, at: 1000 + seq, data });
const fold = (events: LedgerEvent[]): RunsState => events.reduce(evolveRuns, runsProjection.init());
const started = (run: string) => ev('RunStarted', { run, trainer: 'fake', trainerVersion: '1', backend: 'cpu', protocol: 1, seed: 1, epochs: 5, batchSize: 8, trainerConfig: { trainer: 'fake' }, policy: {}, pid: 1 });
const epoch = (run: string, n: number) => ev('EpochEnded', { run, epoch: n, step: n * 10, metrics: { loss: 1 / n }, ms: 5 });

test('given a run that ended epochs 1-3 and crashed, when resumed from epoch 2, then history drops epoch 3 and the status is running again', () => {
  const state = fold([started('run-1'), epoch('run-1', 1), epoch('run-1', 2), epoch('run-1', 3),
    ev('RunCrashed', { run: 'run-1', reason: 'killed', attempt: 1 })]);
  assert.is(state.runs['run-1'].status, 'crashed');
  assert.is(state.runs['run-1'].crashes, 1);
  const resumed = evolveRuns(state, ev('RunResumed', { run: 'run-1', fromCheckpoint: 'ckpt-2', epoch: 2, step: 20, attempt: 1, reason: 'restart' }));
  assert.is(resumed.runs['run-1'].status, 'running');
  assert.equal(resumed.runs['run-1'].history.map((h) => h.epoch), [1, 2]);
  const again = evolveRuns(resumed, epoch('run-1', 3));
  assert.equal(again.runs['run-1'].history.map((h) => h.epoch), [1, 2, 3]);
  assert.is(again.runs['run-1'].epoch, 3);
});

test('given finished and stopped runs, when folded, then statuses, digests, checkpoints and the next id follow', () => {
  const state = fold([
    started('run-1'), epoch('run-1', 1),
    ev('CheckpointCommitted', { run: 'run-1', checkpoint: 'ckpt-1', epoch: 1, step: 10 }),
    ev('RunFinished', { run: 'run-1', epoch: 1, step: 10, weightsDigest: 'abc' }),
    started('run-2'), ev('RunStopped', { run: 'run-2', reason: 'interrupted by SIGINT', signal: 'SIGINT' }),
  ]);
  assert.is(state.runs['run-1'].status, 'finished');
  assert.is(state.runs['run-1'].weightsDigest, 'abc');
  assert.equal(state.runs['run-1'].checkpoints, ['ckpt-1']);
  assert.is(state.runs['run-2'].status, 'stopped');
  assert.is(latestRun(state)?.run, 'run-2');
  assert.is(nextRunId(state), 'run-3');
  assert.is(nextRunId(runsProjection.init()), 'run-1');
});

test('given events about an unknown run, when folded, then the state is unchanged', () => {
  const state = fold([started('run-1')]);
  assert.is(evolveRuns(state, epoch('run-9', 1)), state);
  assert.is(evolveRuns(state, ev('CheckpointPruned', { checkpoint: 'ckpt-1', intentSeq: 1, blobsDeleted: 0, bytesFreed: 0 })), state);
});

test.run();
