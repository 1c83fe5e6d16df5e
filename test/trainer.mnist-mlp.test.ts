import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { weightsDigest } from '../src/store/digest.js';
import { killAllTrainers, startTrainer, type TrainerClient } from './trainer.client.js';

const config = { epochs: 2, batchSize: 50, trainSize: 500, validationSize: 100, testSize: 100, batchEvery: 4, keepEpochStates: 2 };
let run: TrainerClient;

test.before(async () => {
  run = startTrainer('mnist-mlp');
  await run.next('hello');
});
test.after(() => killAllTrainers());

test('given a spawned mnist-mlp, when it starts, then hello names the trainer, protocol 1, the backend and its capabilities', () => {
  const hello = run.messages[0];
  assert.is(hello.type, 'hello');
  if (hello.type !== 'hello') return;
  assert.is(hello.trainer, 'mnist-mlp');
  assert.is(hello.protocol, 1);
  assert.ok(['wasm', 'cpu', 'tensorflow'].includes(hello.backend));
  for (const c of ['save', 'restore', 'stop', 'eval']) assert.ok(hello.capabilities.includes(c), c);
});

test('given start for 2 epochs, when epoch 1 ends, then epoch_end has step 10 and loss/acc/val_loss/val_acc in range', async () => {
  run.send({ type: 'start', config, seed: 11 });
  const e1 = await run.next('epoch_end', (m) => m.epoch === 1);
  assert.is(e1.step, 10);
  assert.equal(Object.keys(e1.metrics).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  for (const key of ['acc', 'val_acc']) assert.ok(e1.metrics[key] > 0 && e1.metrics[key] <= 1, key);
  for (const key of ['loss', 'val_loss']) assert.ok(e1.metrics[key] > 0 && Number.isFinite(e1.metrics[key]), key);
  assert.ok(e1.ms > 0);
});

test('given batchEvery 4, when an epoch of 10 batches runs, then batch_end arrives for batches 4 and 8', () => {
  const batches = run.messages.filter((m) => m.type === 'batch_end' && m.epoch === 1).map((m) => (m as { batch: number }).batch);
  assert.equal(batches, [4, 8]);
});

test('given a save after epoch 1, when the state arrives, then it holds epoch 1, 6 weight tensors, Adam slots and hidden accBeta', async () => {
  run.send({ type: 'save', requestId: 'after-1', epoch: 1 });
  const reply = await run.next('state', (m) => m.requestId === 'after-1');
  const { state } = reply;
  assert.is(state.trainer.epoch, 1);
  assert.is(state.trainer.step, 10);
  assert.equal(state.history.map((h) => h.epoch), [1]);
  const model = state.objects.model;
  assert.equal(model.weights.map((w) => w.shape), [[784, 128], [128], [128, 64], [64], [64, 10], [10]]);
  assert.is(model.weights[0].data.byteLength, 784 * 128 * 4);
  assert.is(model.optimizer!.className, 'Adam');
  assert.is(model.optimizer!.slots.length, 13);
  assert.is(model.optimizer!.hidden.iterations, 10);
  assert.ok(model.optimizer!.hidden.accBeta1 > 0 && model.optimizer!.hidden.accBeta1 < 0.9);
});

test('given the loop finished, when done arrives, then its weightsDigest equals the digest of the final saved state', async () => {
  const done = await run.next('done');
  assert.is(done.reason, 'done');
  assert.is(done.epoch, 2);
  assert.is(done.step, 20);
  run.send({ type: 'save', requestId: 'final' });
  const { state } = await run.next('state', (m) => m.requestId === 'final');
  assert.is(state.trainer.epoch, 2);
  assert.is(done.weightsDigest, weightsDigest(state));
});

test('given a hold trainer that nobody released after 2 epochs, when epoch 0 and then epoch 1 are asked for, then 0 is PROTOCOL_STATE_GONE (never reported) and 1 still arrives', async () => {
  run.send({ type: 'save', requestId: 'e0', epoch: 0 });
  const gone = await run.next('error', (m) => m.requestId === 'e0');
  assert.is(gone.code, 'PROTOCOL_STATE_GONE');
  // Every reported position is held: the batch_ends (epoch in progress / step) and the epoch ends.
  assert.match(gone.message, /held: 1\/4, 1\/8, 1\/10, 2\/14, 2\/18, 2\/20; /);
  run.send({ type: 'save', requestId: 'e1', epoch: 1 });
  const { state } = await run.next('state', (m) => m.requestId === 'e1');
  assert.is(state.trainer.epoch, 1);
  assert.is(state.trainer.step, 10);
});

test('given the epoch-1 state, when restore is sent after epoch 2, then the weights are epoch 1\'s and the position stays at epoch 2', async () => {
  run.send({ type: 'save', requestId: 'r1', epoch: 1 });
  const { state: e1 } = await run.next('state', (m) => m.requestId === 'r1');
  run.send({ type: 'restore', state: e1 });
  run.send({ type: 'save', requestId: 'after-restore', at: 'now' });
  const { state } = await run.next('state', (m) => m.requestId === 'after-restore');
  assert.is(weightsDigest(state), weightsDigest(e1));
  assert.is(state.trainer.epoch, 2);
  assert.equal(state.objects.model.optimizer!.hidden, e1.objects.model.optimizer!.hidden);
});

test('given a finished trainer, when asked to eval its state on the test split, then eval_result carries loss and acc', async () => {
  run.send({ type: 'save', requestId: 'for-eval' });
  const { state } = await run.next('state', (m) => m.requestId === 'for-eval');
  run.send({ type: 'eval', requestId: 'ev', state, split: 'test' });
  const result = await run.next('eval_result', (m) => m.requestId === 'ev');
  assert.ok(result.metrics.acc > 0.5, `acc ${result.metrics.acc}`);
  assert.ok(result.metrics.loss > 0);
});

test('given a fresh mnist-mlp (no start), when asked to eval a saved state on validation, then it reproduces that epoch\'s val metrics', async () => {
  run.send({ type: 'save', requestId: 'cold-src' });
  const { state } = await run.next('state', (m) => m.requestId === 'cold-src');
  const t = startTrainer('mnist-mlp');
  await t.next('hello');
  t.send({ type: 'eval', requestId: 'cold', state, split: 'validation' });
  const ev = await t.next('eval_result', (m) => m.requestId === 'cold');
  const last = state.history[state.history.length - 1].metrics;
  assert.ok(Math.abs(ev.metrics.loss - last.val_loss) < 1e-6, `${ev.metrics.loss} vs ${last.val_loss}`);
  assert.is(ev.metrics.acc, last.val_acc);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a checkpoint made on this backend, when it resumes on the cpu backend, then the trainer warns that bit-identity is lost', async () => {
  run.send({ type: 'save', requestId: 'xb' });
  const { state } = await run.next('state', (m) => m.requestId === 'xb');
  const hello = run.messages[0] as { backend: string };
  assert.is(state.trainer.backend, hello.backend);
  const t = startTrainer('mnist-mlp', { CKPT_BACKEND: 'cpu' });
  assert.is((await t.next('hello')).backend, 'cpu');
  t.send({ type: 'start', config, seed: 11, state });
  // Wait for both at once: `next` sees only later messages, and done may come in the same chunk as the warning.
  const [warning] = await Promise.all([t.next('log', (m) => m.level === 'warn'), t.next('done')]);
  assert.match(warning.message, new RegExp(`trained on ${hello.backend} and resumes on cpu`));
  t.send({ type: 'exit' });
  await t.exited;
});

test('given commands with wrong field types, when sent, then the trainer answers error PROTOCOL_BAD_MESSAGE and keeps serving', async () => {
  run.send({ type: 'save', requestId: 42 } as never);
  const bad = await run.next('error', (m) => m.code === 'PROTOCOL_BAD_MESSAGE');
  assert.match(bad.message, /requestId/);
  run.send({ type: 'start', config: { epochs: 1, batchSize: 50 }, seed: 1 });
  const again = await run.next('error', (m) => m.code === 'PROTOCOL_BAD_SEQUENCE');
  assert.match(again.message, /already/);
  run.send({ type: 'save', requestId: 'still-alive' });
  assert.is((await run.next('state', (m) => m.requestId === 'still-alive')).state.trainer.epoch, 2);
});

test('given exit, when sent, then the trainer exits 0 and its stdout held only frames', async () => {
  run.send({ type: 'exit' });
  const { code } = await run.exited;
  assert.is(code, 0);
  assert.is(run.fault, undefined);
});

test('given a trainer mid-training, when stop is sent, then it finishes the batch and sends done with reason stopped', async () => {
  const t = startTrainer('mnist-mlp');
  await t.next('hello');
  t.send({ type: 'start', config: { ...config, epochs: 50, batchEvery: 1 }, seed: 3 });
  await t.next('batch_end', (m) => m.batch === 3);
  t.send({ type: 'stop', reason: 'test' });
  const done = await t.next('done');
  assert.is(done.reason, 'stopped');
  assert.ok(done.epoch < 50);
  t.send({ type: 'save', requestId: 'now', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'now');
  assert.is(state.trainer.step, done.step);
  t.child.stdin!.end(); // closing stdin is as good as exit
  assert.is((await t.exited).code, 0);
});

test('given a trainer mid-training, when its supervisor vanishes (stdin closes), then the trainer exits on its own', async () => {
  const t = startTrainer('mnist-mlp');
  await t.next('hello');
  t.send({ type: 'start', config: { ...config, epochs: 50, batchEvery: 1 }, seed: 3 });
  await t.next('batch_end', (m) => m.batch === 2);
  t.child.stdin!.destroy();
  const exit = await Promise.race([t.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))]);
  assert.equal(exit, { code: 0, signal: null });
  assert.ok(!t.messages.some((m) => m.type === 'done'), 'it left mid-training, without done');
});

test('given a trainer, when its supervisor sends random bytes, then it reports a PROTOCOL_* error and exits non-zero', async () => {
  const t = startTrainer('mnist-mlp');
  await t.next('hello');
  t.child.stdin!.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
  const err = await t.next('error');
  assert.is(err.code, 'PROTOCOL_MALFORMED');
  assert.is((await t.exited).code, 2);
});

test.run();
