// BackupAndRestore: a fit SIGKILLed mid-training in a real child process resumes at the right epoch, with its
// history, and ends with weights bit-identical to an uninterrupted fit (Adam state restored exactly).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CheckpointCommitted, RunCrashed, RunFinished, RunResumed } from '../src/events.js';
import { BackupAndRestore, ModelCheckpoint } from '../src/tfjs/callbacks/index.js';
import { makeData, makeModel, modelDigest, ofType, readEvents, tempDir, useCpu } from './callbacks.fixture.js';
import * as tf from '@tensorflow/tfjs';

const EPOCHS = 6;
const CHILD = new URL('./callbacks.fit-child.ts', import.meta.url).pathname;

interface Done { type: 'done'; digest: string; epochs: number[]; valLoss: number[]; loss: number[]; resumedRun: string | null; restored: number }
interface ChildResult { initialEpoch: number; epochsSeen: number[]; done?: Done; signal: NodeJS.Signals | null }

/** Run the child; with `killAfterEpoch`, SIGKILL it `killDelayMs` after it reports that epoch's backup committed. */
function runChild(dir: string, killAfterEpoch?: number, killDelayMs = 0): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(EPOCHS), '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result: ChildResult = { initialEpoch: -1, epochsSeen: [], signal: null };
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line);
      if (msg.type === 'start') result.initialEpoch = msg.initialEpoch;
      if (msg.type === 'epoch') {
        result.epochsSeen.push(msg.epoch);
        if (msg.epoch === killAfterEpoch) setTimeout(() => child.kill('SIGKILL'), killDelayMs);
      }
      if (msg.type === 'done') result.done = msg;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      result.signal = signal;
      if (killAfterEpoch === undefined && code !== 0) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve(result);
    });
  });
}

test('given a fit SIGKILLed after epoch 2 and again at a random moment two epochs later, when it is rerun each time, then it resumes at the backed-up epoch and ends bit-identical with full history', async () => {
  await useCpu();
  const killed = tempDir('br-killed');
  try {
    // The uninterrupted reference runs in this process: the cpu backend is deterministic across processes.
    const { x, y } = makeData();
    const straight = makeModel();
    const history = await straight.fit(x, y, { epochs: EPOCHS, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0 });
    const reference = { done: { digest: await modelDigest(straight), valLoss: history.history.val_loss, loss: history.history.loss } };

    const first = await runChild(killed.dir, 2);
    assert.is(first.signal, 'SIGKILL');
    assert.is(first.done, undefined, 'killed before the end');
    const afterFirst = await readEvents(killed.dir);
    const backedUp1 = Math.max(...ofType<CheckpointCommitted>(afterFirst, 'CheckpointCommitted').map((c) => c.epoch));
    assert.ok(backedUp1 >= 2 && backedUp1 < EPOCHS, `backup epoch after the kill: ${backedUp1}`);

    // At a random moment of the second epoch it trains (5 batches of >= 40 ms): mid-batch, mid-save or between.
    const second = await runChild(killed.dir, backedUp1 + 1, 20 + Math.floor(Math.random() * 160));
    assert.is(second.signal, 'SIGKILL');
    assert.is(second.initialEpoch, backedUp1, 'resumes at the newest committed backup');
    assert.is(second.epochsSeen[0], backedUp1 + 1, 'first epoch trained is the one after it');
    const backedUp2 = Math.max(...ofType<CheckpointCommitted>(await readEvents(killed.dir), 'CheckpointCommitted').map((c) => c.epoch));

    const third = await runChild(killed.dir);
    assert.is(third.initialEpoch, backedUp2);
    const done = third.done!;
    assert.is(done.resumedRun, 'run-1');
    assert.is(done.restored, backedUp2, 'history of the epochs before the interruption came back');
    assert.is(done.digest, reference.done!.digest, 'weights bit-identical to the uninterrupted fit');
    assert.equal(done.epochs, [0, 1, 2, 3, 4, 5]);
    assert.equal(done.valLoss, reference.done!.valLoss, 'history identical, value for value');
    assert.equal(done.loss, reference.done!.loss);

    const events = await readEvents(killed.dir);
    assert.is(ofType(events, 'RunStarted').length, 1);
    assert.equal(ofType<RunCrashed>(events, 'RunCrashed').map((c) => c.attempt), [1, 2]);
    const resumed = ofType<RunResumed>(events, 'RunResumed');
    assert.equal(resumed.map((r) => [r.epoch, r.attempt]), [[backedUp1, 1], [backedUp2, 2]]);
    assert.ok(resumed.every((r) => r.fromCheckpoint !== null));
    assert.is(ofType<RunFinished>(events, 'RunFinished')[0].weightsDigest, reference.done!.digest);
  } finally {
    killed.remove();
  }
});

test('given an interrupted run, when fit starts without initialEpoch, then CALLBACK_INITIAL_EPOCH says what to pass; with it, fit resumes', async () => {
  await useCpu();
  const t = tempDir('br-inproc');
  try {
    const { x, y } = makeData();
    const fit = { epochs: 4, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0 as const };
    const crash = new tf.CustomCallback({ onEpochEnd: (epoch) => { if (epoch === 1) throw new Error('simulated crash'); } });
    const err1 = await makeModel().fit(x, y, { ...fit, callbacks: [new BackupAndRestore({ backupDir: t.dir }), crash] }).then(() => null, (e) => e);
    assert.is(err1?.message, 'simulated crash');

    const backup = new BackupAndRestore({ backupDir: t.dir });
    assert.is(await backup.initialEpoch(), 2);
    const err2 = await makeModel().fit(x, y, { ...fit, callbacks: [backup] }).then(() => null, (e) => e);
    assert.is(err2?.code, 'CALLBACK_INITIAL_EPOCH');
    assert.match(err2.message, 'initialEpoch: await backup.initialEpoch()');

    const model = makeModel();
    const history = await model.fit(x, y, { ...fit, initialEpoch: await backup.initialEpoch(), callbacks: [backup] });
    assert.equal(history.epoch, [0, 1, 2, 3]);
    const straight = makeModel();
    const reference = await straight.fit(x, y, fit);
    assert.equal(history.history.val_loss, reference.history.val_loss);
    assert.is(await modelDigest(model), await modelDigest(straight));

    // The finished run is not resumed again: the next fit starts a new run from epoch 0.
    assert.is(await new BackupAndRestore({ backupDir: t.dir }).initialEpoch(), 0);

    // Interrupted after its last epoch was backed up: the rerun trains nothing, but restores and finishes the run.
    const late = new tf.CustomCallback({ onEpochEnd: (epoch) => { if (epoch === 3) throw new Error('crash after the last epoch'); } });
    await makeModel().fit(x, y, { ...fit, callbacks: [new BackupAndRestore({ backupDir: t.dir }), late] }).catch(() => undefined);
    const last = new BackupAndRestore({ backupDir: t.dir });
    assert.is(await last.initialEpoch(), 4);
    const restoredModel = makeModel();
    const lastHistory = await restoredModel.fit(x, y, { ...fit, initialEpoch: 4, callbacks: [last] });
    assert.equal(lastHistory.epoch, [0, 1, 2, 3]);
    assert.equal(lastHistory.history.val_loss, reference.history.val_loss);
    assert.is(await modelDigest(restoredModel), await modelDigest(straight));
    assert.is(await new BackupAndRestore({ backupDir: t.dir }).initialEpoch(), 0, 'and the run is finished');
  } finally {
    t.remove();
  }
});

test('given BackupAndRestore and a saveBestOnly ModelCheckpoint in separate dirs, when fit crashes and resumes, then the best carries over (no Keras #17012)', async () => {
  await useCpu();
  const backupDir = tempDir('br-sep-b');
  const bestDir = tempDir('br-sep-m');
  try {
    const { x, y } = makeData();
    const fit = { epochs: 10, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0 as const };
    const reference = (await makeModel().fit(x, y, fit)).history.val_loss as number[];
    let best = Infinity;
    const improving = reference.flatMap((v, i) => (v < best ? ((best = v), [i + 1]) : []));
    // The crash comes after epoch 8; epoch 9 is worse than the best before it, so it must not be saved.
    assert.ok(!improving.includes(9) && improving.includes(8), `fixture: ${reference}`);

    const crash = new tf.CustomCallback({ onEpochEnd: (epoch) => { if (epoch === 7) throw new Error('simulated crash'); } });
    const first = makeModel();
    await first.fit(x, y, { ...fit, callbacks: [new BackupAndRestore({ backupDir: backupDir.dir }), new ModelCheckpoint({ dir: bestDir.dir, saveBestOnly: true }), crash] }).catch(() => undefined);

    const backup = new BackupAndRestore({ backupDir: backupDir.dir });
    const initialEpoch = await backup.initialEpoch();
    assert.is(initialEpoch, 8);
    await makeModel().fit(x, y, { ...fit, initialEpoch, callbacks: [backup, new ModelCheckpoint({ dir: bestDir.dir, saveBestOnly: true })] });

    const events = await readEvents(bestDir.dir);
    assert.equal(ofType<CheckpointCommitted>(events, 'CheckpointCommitted').map((c) => c.epoch), improving);
    assert.equal([...new Set(events.map((e) => e.stream))], ['run-1'], 'the checkpoint directory continued its run');
    assert.equal(ofType<RunResumed>(events, 'RunResumed').map((r) => r.epoch), [8]);
    assert.equal(ofType<{ epoch: number; previous: number }>(events, 'SaveSkipped').find((d) => d.epoch === 9)?.previous, reference[7]);
  } finally {
    backupDir.remove();
    bestDir.remove();
  }
});

test.run();
