import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CheckpointState } from '../src/checkpoint.js';
import { encodeFrame, type TrainConfig } from '../src/protocol/index.js';
import { weightsDigest } from '../src/store/digest.js';
import { resolveTrainer } from '../src/trainers.js';
import { killAllTrainers, startTrainer, stopMidEpochAndSave } from './trainer.client.js';

const script = fileURLToPath(new URL('../trainers/python/logistic_regression.py', import.meta.url));
const config: TrainConfig = { epochs: 4, batchSize: 32, trainSize: 256, validationSize: 64, testSize: 64, batchEvery: 2 };

async function trainToEnd(cfg: TrainConfig, seed: number, state?: CheckpointState) {
  const t = startTrainer(script);
  const hello = await t.next('hello');
  t.send({ type: 'start', config: cfg, seed, ...(state ? { state } : {}) });
  const done = await t.next('done');
  t.send({ type: 'save', requestId: 'final' });
  const { state: final } = await t.next('state', (m) => m.requestId === 'final');
  t.send({ type: 'exit' });
  const exit = await t.exited;
  return { hello, done, final, exit, messages: t.messages, fault: t.fault };
}

test('given a .py trainer, when resolved, then it runs with the python that has msgpack', () => {
  const r = resolveTrainer(script);
  assert.is(r.name, 'logistic_regression');
  const check = spawnSync(r.command, ['-c', 'import msgpack'], { encoding: 'utf8' });
  assert.is(check.status, 0, check.stderr);
});

test('given the Python SDK helpers, when float32/float64/int32 tensors round-trip, then values, LE bytes and the digest agree with Node', () => {
  const code = [
    'import sys, json; sys.path.insert(0, sys.argv[1])',
    'from ckpt_trainer import tensor, tensor_values, weights_digest',
    "f = tensor('f', [1.5, -0.25], [2], 'float32'); d = tensor('d', [0.1], [1]); i = tensor('i', [-7, 3], [2], 'int32')",
    "sys.__stdout__.write(json.dumps({'f': f['data'].hex(), 'd': d['data'].hex(), 'i': i['data'].hex(), 'back': tensor_values(f) + tensor_values(d) + tensor_values(i),",
    "  'digest': weights_digest({'objects': {'model': {'weights': [f, d]}}})}))", // importing the SDK points sys.stdout at stderr
  ].join('\n');
  const out = spawnSync(resolveTrainer(script).command, ['-c', code, fileURLToPath(new URL('../trainers/python', import.meta.url))], { encoding: 'utf8' });
  assert.is(out.status, 0, out.stderr);
  const r = JSON.parse(out.stdout);
  const le = (a: Float32Array | Float64Array | Int32Array) => Buffer.from(a.buffer).toString('hex');
  assert.is(r.f, le(new Float32Array([1.5, -0.25])));
  assert.is(r.d, le(new Float64Array([0.1])));
  assert.is(r.i, le(new Int32Array([-7, 3])));
  assert.equal(r.back, [1.5, -0.25, 0.1, -7, 3]);
  const f = { name: 'f', dtype: 'float32' as const, shape: [2], data: new Uint8Array(new Float32Array([1.5, -0.25]).buffer) };
  const d = { name: 'd', dtype: 'float64' as const, shape: [1], data: new Uint8Array(new Float64Array([0.1]).buffer) };
  assert.is(r.digest, weightsDigest({ objects: { model: { weights: [f, d] } } }));
});

let reference: Awaited<ReturnType<typeof trainToEnd>>;

test('given the Python logistic regression, when it trains 4 epochs over the protocol, then it reports hello, 4 epoch_ends with learning metrics, done and exits 0', async () => {
  reference = await trainToEnd(config, 5);
  assert.is(reference.hello.trainer, 'logistic-regression');
  assert.is(reference.hello.protocol, 1);
  const epochs = reference.messages.filter((m) => m.type === 'epoch_end') as Array<{ epoch: number; step: number; metrics: Record<string, number> }>;
  assert.equal(epochs.map((e) => e.epoch), [1, 2, 3, 4]);
  assert.equal(epochs.map((e) => e.step), [8, 16, 24, 32]);
  assert.equal(Object.keys(epochs[0].metrics).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  assert.ok(epochs[3].metrics.loss < epochs[0].metrics.loss, 'loss went down');
  assert.ok(epochs[3].metrics.val_acc > 0.7, `val_acc ${epochs[3].metrics.val_acc}`);
  assert.equal(reference.messages.filter((m) => m.type === 'batch_end' && m.epoch === 1).map((m) => (m as { batch: number }).batch), [2, 4, 6, 8]);
  assert.is(reference.done.reason, 'done');
  assert.is(reference.exit.code, 0);
  assert.is(reference.fault, undefined);
});

test('given the Python state reply, when read, then weights are float64 little-endian bytes and the digest matches done', () => {
  const w = reference.final.objects.model.weights[0];
  assert.is(w.dtype, 'float64');
  assert.equal(w.shape, [8]);
  assert.is(w.data.byteLength, 8 * 8);
  assert.ok(Number.isFinite(new DataView(w.data.buffer, w.data.byteOffset).getFloat64(0, true)));
  assert.is(reference.done.weightsDigest, weightsDigest(reference.final));
});

test('given a Python run saved after epoch 2 and killed, when a new process starts from that state, then it ends with the same weightsDigest', async () => {
  const b = startTrainer(script);
  await b.next('hello');
  b.send({ type: 'start', config, seed: 5 });
  await b.next('epoch_end', (m) => m.epoch === 2);
  b.send({ type: 'save', requestId: 'e2', epoch: 2 }); // this trainer is fast: it may be past epoch 2 already
  const { state } = await b.next('state', (m) => m.requestId === 'e2');
  b.child.kill('SIGKILL');
  await b.exited;
  assert.is(state.trainer.epoch, 2);
  const c = await trainToEnd(config, 5, state);
  assert.equal(c.messages.filter((m) => m.type === 'epoch_end').map((m) => (m as { epoch: number }).epoch), [3, 4]);
  assert.is(c.done.weightsDigest, reference.done.weightsDigest);
  assert.equal(c.final.history, reference.final.history);
});

test('given a Python run stopped mid-epoch and saved "now", when a new process resumes from it, then it ends with the same weightsDigest as an uninterrupted run', async () => {
  // This trainer is fast, so it stops wherever the stop lands; the uninterrupted run then trains to the same end.
  const { done, state } = await stopMidEpochAndSave(script, { ...config, epochs: 1_000_000, batchEvery: 1 }, 5, (m) => m.epoch === 2 && m.batch === 3);
  assert.is(done.reason, 'stopped');
  assert.is(state.trainer.step, done.step);
  const end = { ...config, epochs: done.epoch + 2 };
  const resumed = await trainToEnd(end, 5, state);
  const whole = await trainToEnd(end, 5);
  assert.is(resumed.done.weightsDigest, whole.done.weightsDigest);
  assert.equal(resumed.final.history, whole.final.history);
});

test('given the Python trainer mid-run, when sent stop, restore and eval, then it stops with reason stopped, restores the weights and evaluates them', async () => {
  const t = startTrainer(script);
  await t.next('hello');
  // Epochs take milliseconds: on a busy machine several pass before `save {epoch: 1}` arrives, so keep them all.
  t.send({ type: 'start', config: { ...config, epochs: 100000, batchEvery: 1, keepEpochStates: 100000 }, seed: 5 });
  await t.next('epoch_end', (m) => m.epoch === 1);
  t.send({ type: 'save', requestId: 's1', epoch: 1 });
  const { state: e1 } = await t.next('state', (m) => m.requestId === 's1');
  t.send({ type: 'stop', reason: 'test' });
  const done = await t.next('done');
  assert.is(done.reason, 'stopped');
  assert.ok(done.epoch < 100000);
  t.send({ type: 'restore', state: e1 });
  t.send({ type: 'save', requestId: 'now', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'now');
  assert.is(weightsDigest(state), weightsDigest(e1));
  assert.is(state.trainer.step, done.step);
  t.send({ type: 'eval', requestId: 'ev', state: e1, split: 'test' });
  const ev = await t.next('eval_result', (m) => m.requestId === 'ev');
  assert.ok(ev.metrics.acc > 0.5 && ev.metrics.acc <= 1, `acc ${ev.metrics.acc}`);
  t.send({ type: 'save', requestId: 'bad', epoch: 99999999 });
  assert.is((await t.next('error', (m) => m.requestId === 'bad')).code, 'PROTOCOL_STATE_GONE');
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a fresh Python trainer (no start), when asked to eval a saved state, then it answers eval_result on the data of that run', async () => {
  const t = startTrainer(script);
  await t.next('hello');
  t.send({ type: 'eval', requestId: 'cold', state: reference.final, split: 'validation' });
  const ev = await t.next('eval_result', (m) => m.requestId === 'cold');
  const last = reference.final.history[reference.final.history.length - 1].metrics;
  assert.is(ev.metrics.loss, last.val_loss);
  assert.is(ev.metrics.acc, last.val_acc);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given the Python trainer, when sent a malformed frame, then it replies PROTOCOL_MALFORMED and exits 2', async () => {
  const t = startTrainer(script);
  await t.next('hello');
  t.child.stdin!.write(Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]));
  const err = await t.next('error');
  assert.is(err.code, 'PROTOCOL_MALFORMED');
  assert.is((await t.exited).code, 2);
});

test('given the Python trainer, when sent a well-formed frame of an unknown type, then it replies PROTOCOL_UNKNOWN_TYPE and exits 2', async () => {
  const t = startTrainer(script);
  await t.next('hello');
  t.child.stdin!.write(encodeFrame({ type: 'teleport', to: 'mars' }));
  const err = await t.next('error');
  assert.is(err.code, 'PROTOCOL_UNKNOWN_TYPE');
  assert.match(err.message, /teleport/);
  assert.is((await t.exited).code, 2);
});

test('given the Python trainer, when sent a 3 GB length prefix, then it replies PROTOCOL_FRAME_TOO_LARGE without reading the body', async () => {
  const t = startTrainer(script);
  await t.next('hello');
  t.child.stdin!.write(Buffer.from([0xb0, 0, 0, 0]));
  const err = await t.next('error');
  assert.is(err.code, 'PROTOCOL_FRAME_TOO_LARGE');
  assert.is((await t.exited).code, 2);
});

test.after(() => killAllTrainers());

test.run();
