import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointState } from '../src/checkpoint.js';
import type { TrainConfig } from '../src/protocol/index.js';
import { weightsDigest } from '../src/store/digest.js';
import { killAllTrainers, startTrainer, stopMidEpochAndSave } from './trainer.client.js';

const mlpConfig: TrainConfig = { epochs: 3, batchSize: 50, trainSize: 500, validationSize: 100, testSize: 100, batchEvery: 1 };
const SEED = 2026;

/** Train from scratch (or from `state`) to config.epochs; returns done's digest and the final state's. */
async function trainToEnd(trainer: string, config: TrainConfig, state?: CheckpointState) {
  const t = startTrainer(trainer);
  await t.next('hello');
  t.send({ type: 'start', config, seed: SEED, ...(state ? { state } : {}) });
  const done = await t.next('done', undefined, 120_000);
  t.send({ type: 'save', requestId: 'final' });
  const { state: final } = await t.next('state', (m) => m.requestId === 'final');
  t.send({ type: 'exit' });
  await t.exited;
  const epochs = t.messages.filter((m) => m.type === 'epoch_end').map((m) => (m as { epoch: number }).epoch);
  const logs = t.messages.filter((m) => m.type === 'log').map((m) => (m as { message: string }).message);
  return { digest: done.weightsDigest!, final, epochs, done, logs };
}

let reference: Awaited<ReturnType<typeof trainToEnd>>;
let again: Awaited<ReturnType<typeof trainToEnd>>;

test.before(async () => {
  // Two independent processes at once: also shows that runs do not influence each other.
  [reference, again] = await Promise.all([trainToEnd('mnist-mlp', mlpConfig), trainToEnd('mnist-mlp', mlpConfig)]);
});

test('given the same seed twice, when mnist-mlp trains 3 epochs, then both runs end with the same weightsDigest', async () => {
  assert.is(again.digest, reference.digest);
  assert.is(reference.digest, weightsDigest(reference.final));
});

test('given process B saved after epoch 1 and was SIGKILLed, when process C starts from that state and trains 2 more epochs, then its weightsDigest equals the uninterrupted run A', async () => {
  const b = startTrainer('mnist-mlp');
  await b.next('hello');
  b.send({ type: 'start', config: mlpConfig, seed: SEED });
  await b.next('epoch_end', (m) => m.epoch === 1);
  b.send({ type: 'save', requestId: 'e1', epoch: 1 });
  const { state } = await b.next('state', (m) => m.requestId === 'e1');
  b.child.kill('SIGKILL');
  assert.is((await b.exited).signal, 'SIGKILL');
  assert.is(state.trainer.epoch, 1);

  const c = await trainToEnd('mnist-mlp', mlpConfig, state);
  assert.equal(c.epochs, [2, 3], 'C runs only the remaining epochs');
  assert.equal(c.logs, ['resuming at epoch 2, batch 1 of 10 (step 10)']);
  assert.is(c.digest, reference.digest);
  assert.equal(c.final.history, reference.final.history, 'history and metrics continue exactly');
});

test('given a save at "now" after stopping in the middle of an epoch, when a new process resumes from it, then it still ends bit-identical', async () => {
  const { done, state } = await stopMidEpochAndSave('mnist-mlp', { ...mlpConfig, epochs: 50 }, SEED, (m) => m.epoch === 2 && m.batch === 4);
  const cursor = state.trainer.cursor as { batch: number };
  assert.is(state.trainer.epoch, done.epoch);
  assert.is(state.trainer.step, done.epoch * 10 + cursor.batch, 'step = whole epochs + batches into the current one');
  // Normally it stops inside epoch 2; under heavy load it may get further, so compare with a run to the same end.
  const end = Math.max(3, done.epoch + 2);
  const c = await trainToEnd('mnist-mlp', { ...mlpConfig, epochs: end }, state);
  const whole = end === 3 ? reference : await trainToEnd('mnist-mlp', { ...mlpConfig, epochs: end });
  assert.is(c.digest, whole.digest);
  assert.equal(c.final.history, whole.final.history);
});

test('given a different seed, when trained the same way, then the digest differs (the comparison can fail)', async () => {
  const t = startTrainer('mnist-mlp');
  await t.next('hello');
  t.send({ type: 'start', config: { ...mlpConfig, epochs: 1 }, seed: SEED + 1 });
  const done = await t.next('done');
  t.send({ type: 'exit' });
  await t.exited;
  assert.is.not(done.weightsDigest, reference.digest);
});

test('given mnist-cnn, when a 2-epoch run is split into 1 + 1 epochs across processes, then both end with the same weightsDigest', async () => {
  const cnnConfig: TrainConfig = { epochs: 2, batchSize: 50, trainSize: 200, validationSize: 50, testSize: 50 };
  const [whole, first] = await Promise.all([trainToEnd('mnist-cnn', cnnConfig), trainToEnd('mnist-cnn', { ...cnnConfig, epochs: 1 })]);
  assert.is.not(first.digest, whole.digest);
  const second = await trainToEnd('mnist-cnn', cnnConfig, first.final);
  assert.equal(second.epochs, [2]);
  assert.is(second.digest, whole.digest);
});

test.after(() => killAllTrainers());

test.run();
