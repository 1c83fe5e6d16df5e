// The PyTorch trainer (trainers/python/torch_mnist.py on ckpt_torch's Run API) over the real protocol, with no
// supervisor in between: what it reports, what a state holds, and exact resumes from epoch and mid-epoch states.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { CheckpointState } from '../src/checkpoint.js';
import type { TrainConfig } from '../src/protocol/index.js';
import { weightsDigest } from '../src/store/digest.js';
import { loadMnist } from '../trainers/lib/mnist-data.js';
import { killAllTrainers, startTrainer, stopMidEpochAndSave } from './trainer.client.js';
import { python, PYTHON, TORCH_MNIST, TORCH_SDK, TORCH_CONFIG } from './torch.helpers.js';

const config: TrainConfig = { ...TORCH_CONFIG, epochs: 3, batchEvery: 5 };

async function trainToEnd(cfg: TrainConfig, seed: number, state?: CheckpointState) {
  const t = startTrainer(TORCH_MNIST);
  const hello = await t.next('hello');
  t.send({ type: 'start', config: cfg, seed, ...(state ? { state } : {}) });
  const done = await t.next('done');
  t.send({ type: 'save', requestId: 'final', at: 'now' });
  const { state: final } = await t.next('state', (m) => m.requestId === 'final');
  t.send({ type: 'exit' });
  const exit = await t.exited;
  return { hello, done, final, exit, messages: t.messages, stderr: t.stderr.join('') };
}

test('given the torch MNIST data loader, when it reads the mnist package cold, then its splits are byte-identical to the tfjs trainers\' loader', () => {
  const sizes = { trainSize: 200, validationSize: 100, testSize: 100 };
  const code = [
    'import sys, hashlib; sys.path.insert(0, sys.argv[1])',
    'from torch_mnist_data import load_mnist',
    'import torch, torch.nn.functional as F',
    's = load_mnist(200, 100, 100); h = hashlib.sha256()',
    "for name in ('train', 'validation', 'test'):",
    '    x, y = s[name]; h.update(x.numpy().tobytes()); h.update(F.one_hot(y, 10).float().numpy().tobytes())',
    'print(h.hexdigest())',
  ].join('\n');
  const py = spawnSync(PYTHON, ['-c', code, TORCH_SDK], { encoding: 'utf8', env: { ...process.env, CKPT_MNIST_CACHE: '0' } });
  assert.is(py.status, 0, py.stderr);
  const previous = process.env.CKPT_MNIST_CACHE;
  process.env.CKPT_MNIST_CACHE = '0';
  try {
    const splits = loadMnist(sizes);
    const h = createHash('sha256');
    for (const name of ['train', 'validation', 'test'] as const) {
      h.update(Buffer.from(splits[name].x.buffer, splits[name].x.byteOffset, splits[name].x.byteLength));
      h.update(Buffer.from(splits[name].y.buffer, splits[name].y.byteOffset, splits[name].y.byteLength));
    }
    assert.is(py.stdout.trim(), h.digest('hex'));
  } finally {
    if (previous === undefined) delete process.env.CKPT_MNIST_CACHE;
    else process.env.CKPT_MNIST_CACHE = previous;
  }
});

test('given the torch SDK sources, when searched, then nothing in them can unpickle (a checkpoint never executes code when loaded)', () => {
  for (const file of readdirSync(TORCH_SDK).filter((f) => /^(ckpt_torch|torch_|safetensors).*\.py$/.test(f))) {
    const text = readFileSync(`${TORCH_SDK}/${file}`, 'utf8');
    assert.not.match(text, /\bimport pickle|\bfrom pickle|torch\.load\(|torch\.save\(|\bdill\b|(?<![.\w])eval\(|(?<![.\w])exec\(/, file);
  }
});

test('given a ReduceLROnPlateau (inf inside) and integral-float hyperparameters, when captured and sent through strict JSON (as the store\'s manifest), then they restore with the same values and types', () => {
  const out = JSON.parse(python([
    'import json, torch, torch_state as ts',
    'model = torch.nn.Linear(3, 2); opt = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.5, 0.75))',
    "sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='min', factor=0.5)",
    'sched.step(3.0); model(torch.ones(1, 3)).sum().backward(); opt.step()',
    "wire = json.loads(json.dumps({'s': ts.capture_stateful(sched, 'scheduler'), 'o': ts.plain(opt.state_dict()['param_groups'])}, allow_nan=False))",
    'opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.1)',
    'sched2 = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2); ts.restore_stateful(sched2, wire["s"])',
    "a, b = sched.state_dict(), sched2.state_dict()",
    "print(json.dumps({'same': repr(a) == repr(b), 'worse': repr(b['mode_worse']), 'lr': repr(ts.unplain(wire['o'])[0]['lr']), 'wire_lr': wire['o'][0]['lr']}))",
  ].join('\n')));
  assert.equal(out, { same: true, worse: 'inf', lr: '1.0', wire_lr: { $float: '1.0' } });
});

let reference: Awaited<ReturnType<typeof trainToEnd>>;

test('given torch_mnist, when it trains 3 epochs over the protocol, then it reports hello, epoch_ends with learning metrics, batch_ends and done with the digest of its state', async () => {
  reference = await trainToEnd(config, 7);
  assert.is(reference.hello.trainer, 'torch-mnist');
  assert.ok(reference.hello.capabilities.includes('eval'));
  const epochs = reference.messages.filter((m) => m.type === 'epoch_end') as Array<{ epoch: number; step: number; metrics: Record<string, number> }>;
  assert.equal(epochs.map((e) => e.epoch), [1, 2, 3]);
  assert.equal(epochs.map((e) => e.step), [20, 40, 60]);
  assert.equal(Object.keys(epochs[0].metrics).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  assert.ok(epochs[2].metrics.loss < epochs[0].metrics.loss, 'loss went down');
  assert.ok(epochs[2].metrics.val_acc > 0.6, `val_acc ${epochs[2].metrics.val_acc}`);
  assert.equal(reference.messages.filter((m) => m.type === 'batch_end' && m.epoch === 1).map((m) => (m as { batch: number }).batch), [5, 10, 15, 20]);
  assert.is(reference.done.reason, 'done');
  assert.is(reference.done.weightsDigest, weightsDigest(reference.final));
  assert.is(reference.exit.code, 0);
});

test('given a torch state, when read, then it holds the state_dict by name, Adam\'s slots and hyperparameters, the scheduler, every RNG and the data order as plain values', () => {
  const model = reference.final.objects.model;
  assert.equal(model.weights.map((w) => `${w.name}:${w.dtype}:${w.shape.join('x')}`), ['fc1.weight:float32:128x784', 'fc1.bias:float32:128', 'fc2.weight:float32:64x128', 'fc2.bias:float32:64', 'fc3.weight:float32:10x64', 'fc3.bias:float32:10']);
  const opt = model.optimizer!;
  assert.is(opt.className, 'Adam');
  assert.equal(opt.slots.filter((s) => s.name.startsWith('fc1.weight/')).map((s) => `${s.name}:${s.shape.join('x')}`), ['fc1.weight/step:', 'fc1.weight/exp_avg:128x784', 'fc1.weight/exp_avg_sq:128x784']);
  assert.is(new Float32Array(new Uint8Array(opt.slots[0].data).buffer)[0], 60, 'Adam step after 60 batches');
  const group = (opt.config as { paramGroups: Array<Record<string, unknown>> }).paramGroups[0];
  assert.equal(group.betas, [0.9, 0.999]);
  assert.is(group.initial_lr, 0.001);
  assert.ok(Math.abs((group.lr as number) - 0.0007) < 1e-12, 'StepLR(2, 0.7) stepped after epoch 2');
  const t = reference.final.trainer as Record<string, any>;
  assert.equal([t.epoch, t.step, t.cursor.batch], [3, 60, 0]);
  assert.is(t.torch.scheduler.last_epoch, 3);
  assert.match(t.rng.torch, /^[0-9a-f]{10112}$/);
  assert.match(t.rng.sampler, /^[0-9a-f]{10112}$/);
  assert.is(t.rng.numpy.kind, 'MT19937');
  assert.is(t.rng.python.words.length, 625);
  assert.is(reference.final.history.length, 3);
});

test('given a torch run saved after epoch 1 and killed, when a new process starts from that state, then it ends with the same weightsDigest and history', async () => {
  const b = startTrainer(TORCH_MNIST);
  await b.next('hello');
  b.send({ type: 'start', config, seed: 7 });
  await b.next('epoch_end', (m) => m.epoch === 1);
  b.send({ type: 'save', requestId: 'e1', epoch: 1 });
  const { state } = await b.next('state', (m) => m.requestId === 'e1');
  b.child.kill('SIGKILL');
  await b.exited;
  assert.is(state.trainer.epoch, 1);
  const c = await trainToEnd(config, 7, state);
  assert.equal(c.messages.filter((m) => m.type === 'epoch_end').map((m) => (m as { epoch: number }).epoch), [2, 3]);
  assert.is(c.done.weightsDigest, reference.done.weightsDigest);
  assert.equal(c.final.history, reference.final.history);
});

test('given a torch run stopped mid-epoch and saved "now", when a new process resumes from it, then it ends with the uninterrupted weights and metrics', async () => {
  const { done, state } = await stopMidEpochAndSave(TORCH_MNIST, config, 7, (m) => m.epoch === 2 && m.batch === 10);
  assert.is(done.reason, 'stopped');
  assert.is(state.trainer.step, done.step);
  assert.ok(done.step > 20 && done.step < 40, `stopped inside epoch 2 (step ${done.step})`);
  assert.is(done.weightsDigest, weightsDigest(state));
  const resumed = await trainToEnd(config, 7, state);
  assert.is(resumed.done.weightsDigest, reference.done.weightsDigest);
  assert.equal(resumed.final.history, reference.final.history);
});

test('given torch_mnist mid-run, when sent stop, restore and eval, then it stops, restores the weights and evaluates them', async () => {
  const t = startTrainer(TORCH_MNIST);
  await t.next('hello');
  t.send({ type: 'start', config: { ...config, epochs: 1000, keepEpochStates: 1000 }, seed: 7 });
  await t.next('epoch_end', (m) => m.epoch === 1);
  t.send({ type: 'save', requestId: 's1', epoch: 1 });
  const { state: e1 } = await t.next('state', (m) => m.requestId === 's1');
  t.send({ type: 'stop', reason: 'test' });
  const done = await t.next('done');
  assert.is(done.reason, 'stopped');
  t.send({ type: 'restore', state: e1 });
  t.send({ type: 'save', requestId: 'now', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'now');
  assert.is(weightsDigest(state), weightsDigest(e1));
  assert.is(state.trainer.step, done.step);
  t.send({ type: 'eval', requestId: 'ev', state: e1, split: 'validation' });
  const ev = await t.next('eval_result', (m) => m.requestId === 'ev');
  assert.is(ev.metrics.loss, e1.history[0].metrics.val_loss);
  assert.is(ev.metrics.acc, e1.history[0].metrics.val_acc);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a fresh torch trainer (no start), when asked to eval a saved state, then it answers on the data of that run', async () => {
  const t = startTrainer(TORCH_MNIST);
  await t.next('hello');
  t.send({ type: 'eval', requestId: 'cold', state: reference.final, split: 'validation' });
  const ev = await t.next('eval_result', (m) => m.requestId === 'cold');
  const last = reference.final.history[2].metrics;
  assert.is(ev.metrics.loss, last.val_loss);
  assert.is(ev.metrics.acc, last.val_acc);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given the CNN option, when its epoch-1 state resumes in a new process, then it ends with the uninterrupted CNN\'s weightsDigest', async () => {
  const cnn = { ...TORCH_CONFIG, trainSize: 500, epochs: 2, model: 'cnn' };
  const a = startTrainer(TORCH_MNIST);
  await a.next('hello');
  a.send({ type: 'start', config: cnn, seed: 7 });
  await a.next('epoch_end', (m) => m.epoch === 1);
  a.send({ type: 'save', requestId: 'e1', epoch: 1 });
  const { state } = await a.next('state', (m) => m.requestId === 'e1');
  const whole = await a.next('done');
  a.send({ type: 'exit' });
  await a.exited;
  assert.equal(state.objects.model.weights.map((w) => w.name), ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc.weight', 'fc.bias']);
  const resumed = await trainToEnd(cnn, 7, state);
  assert.is(resumed.done.weightsDigest, whole.weightsDigest);
});

test('given a state of another model, when torch_mnist starts from it, then it fails with PROTOCOL_BAD_STATE naming the mismatch and exits 1', async () => {
  const t = startTrainer(TORCH_MNIST);
  await t.next('hello');
  t.send({ type: 'start', config: { ...config, model: 'cnn' }, seed: 7, state: reference.final });
  const error = await t.next('error');
  assert.is(error.code, 'PROTOCOL_BAD_STATE');
  assert.match(error.message, /missing .*conv1\.weight/);
  assert.is((await t.exited).code, 1);
});

test.after(() => killAllTrainers());

test.run();
