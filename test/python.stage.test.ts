// The Python SDK's 'stage' capability (docs/protocol.md, "Staged tensors"): with `start.staging`, a save's tensors
// go to files in the staging directory and the `state` reply names them; staged tensors sent to the trainer are
// read from their files before the trainer's own code sees them. These suites drive real Python trainer processes
// over the real protocol, as a supervisor would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { CheckpointCommitted, RunFinished, RunResumed, RunStarted } from '../src/events.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckpointState, TensorData } from '../src/checkpoint.js';
import { encodeFrame, FrameDecoder, TRAINER_MESSAGE_TYPES } from '../src/protocol/index.js';
import type { Done, TrainConfig } from '../src/protocol/index.js';
import { weightsDigest } from '../src/store/digest.js';
import { readEvents, seeded, tempDir } from './fixtures/run-helpers.js';
import { takesDirectIo } from './fixtures/direct-io.js';
import { BIN, ckpt } from './cli.helpers.js';
import { childPids, python, PYTHON, TORCH_CONFIG, TORCH_MNIST } from './torch.helpers.js';

const SDK = fileURLToPath(new URL('../trainers/python', import.meta.url));
const LR = `${SDK}/logistic_regression.py`;
const LR_CONFIG: TrainConfig = { epochs: 4, batchSize: 32, trainSize: 256, validationSize: 64, testSize: 64 };

/** A staged tensor as it travels: no `data`, a file and its length. */
interface Staged { name: string; dtype: string; shape: number[]; file: string; bytes: number; sha256?: string }

const work = tempDir('ckpt-pystage-');

// Scripts this suite writes: the logistic regression with its own capabilities (an opt-out of 'stage'), and a
// numpy trainer whose big weight tensor and optimizer slot hold `floats` float32 each (big files on demand), plus a
// 16-float weight tensor.
const NO_STAGE = join(work.dir, 'lr_no_stage.py');
writeFileSync(NO_STAGE, [
  'import runpy, sys',
  `sys.path.insert(0, ${JSON.stringify(SDK)})`,
  'import ckpt_trainer',
  "ckpt_trainer.Trainer.capabilities = ['save', 'save-now', 'restore', 'stop', 'batch_end', 'hold', 'eval']",
  `runpy.run_path(${JSON.stringify(LR)}, run_name='__main__')`,
].join('\n'));

const TORCH_NO_STAGE = join(work.dir, 'torch_mnist_no_stage.py');
writeFileSync(TORCH_NO_STAGE, [
  'import runpy, sys',
  `sys.path.insert(0, ${JSON.stringify(SDK)})`,
  'import ckpt_trainer',
  "ckpt_trainer.Trainer.capabilities = ['save', 'save-now', 'restore', 'stop', 'batch_end', 'hold', 'eval']",
  `runpy.run_path(${JSON.stringify(TORCH_MNIST)}, run_name='__main__')`,
].join('\n'));

const BALLAST = join(work.dir, 'ballast.py');
writeFileSync(BALLAST, `
import sys, time
sys.path.insert(0, ${JSON.stringify(SDK)})
import numpy as np
from ckpt_trainer import Trainer, run_trainer


def tensor(name, a):
    return {'name': name, 'dtype': 'float32', 'shape': [int(a.size)], 'data': a.astype('<f4').tobytes()}


def values(td):
    return np.frombuffer(td['data'], dtype='<f4').astype(np.float32)


class Ballast(Trainer):
    name, version, backend = 'ballast', '1.0.0', 'python'

    def setup(self, config, seed, state):
        self.epochs, self.batches = int(config.get('epochs', 3)), int(config.get('batches', 4))
        self.every = int(config.get('batchEvery') or 0)
        n = int(config.get('floats', 1024))
        self.w = np.random.default_rng(seed).standard_normal(n, dtype=np.float32)
        self.v = np.zeros(n, dtype=np.float32)
        self.b = np.zeros(16, dtype=np.float32)  # a small tensor next to the big ones
        self.epoch, self.step, self.history = 0, 0, []
        if state:
            self.restore(state)
            self.epoch, self.step = state['trainer']['epoch'], state['trainer']['step']
            self.history = list(state['history'])

    def capture(self):
        return {'objects': {'model': {'weights': [tensor('b', self.b), tensor('w', self.w)],
                                      'optimizer': {'className': 'Ballast', 'config': {}, 'slots': [tensor('w/v', self.v)], 'hidden': {}}}},
                'trainer': {'epoch': self.epoch, 'step': self.step}, 'history': list(self.history)}

    def restore(self, state):
        model = state['objects']['model']
        self.b, self.w = (values(td) for td in model['weights'])
        self.v = values(model['optimizer']['slots'][0])

    def train(self, ctx):
        while self.epoch < self.epochs:
            t0 = time.perf_counter()
            while self.step < (self.epoch + 1) * self.batches:
                self.v *= np.float32(0.9)
                self.v += np.float32(0.01) * self.w
                self.w -= self.v
                self.b += self.w[:16]
                self.step += 1
                batch = self.step - self.epoch * self.batches
                if self.every and batch % self.every == 0 and batch < self.batches:
                    ctx.batch_end(self.epoch + 1, batch, self.step, {'loss': float(np.abs(self.w[:4096]).mean())})
                if ctx.checkpoint():
                    return self.epoch, self.step
            self.epoch += 1
            loss = float(np.abs(self.w[:4096]).mean())
            metrics = {'loss': loss, 'acc': 0.5, 'val_loss': loss, 'val_acc': 0.5}
            self.history.append({'epoch': self.epoch, 'metrics': metrics})
            ctx.epoch_end(self.epoch, self.step, metrics, int((time.perf_counter() - t0) * 1000))
            if ctx.checkpoint():
                break
        return self.epoch, self.step


run_trainer(Ballast())
`);

// A fake supervisor: spawn a Python trainer and speak frames to it. (test/trainer.client.ts offers no staging
// directory and rejects staged replies; this one takes them as they come.)
type Message = { type: string; [key: string]: any };
interface Client {
  child: ChildProcess;
  messages: Message[];
  stderr: string[];
  fault?: Error;
  send(message: Message): void;
  next(type: string, predicate?: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

function startTrainer(script: string): Client {
  const child = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const decoder = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES });
  const waiters: Array<{ type: string; predicate?: (m: Message) => boolean; resolve(m: Message): void }> = [];
  const client: Client = {
    child, messages: [], stderr: [],
    send(message) {
      // Nobody here sends `release`: let a 'hold' trainer keep every state instead of waiting for one.
      if (message.type === 'start' && message.config.maxHeld === undefined) message = { ...message, config: { ...message.config, maxHeld: 1_000_000 } };
      child.stdin!.write(encodeFrame(message));
    },
    next(type, predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}; stderr: ${client.stderr.join('').slice(-2000)}`)), timeoutMs);
        waiters.push({ type, predicate, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      });
    },
    exited: new Promise((resolve) => child.on('close', (code, signal) => { live.delete(child); resolve({ code, signal }); })),
  };
  child.stdin!.on('error', () => {});
  child.stderr!.setEncoding('utf8').on('data', (text: string) => client.stderr.push(text));
  child.stdout!.on('data', (chunk: Buffer) => {
    try {
      for (const m of decoder.push(chunk) as Message[]) {
        client.messages.push(m);
        const i = waiters.findIndex((w) => w.type === m.type && (!w.predicate || w.predicate(m)));
        if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
      }
    } catch (error) {
      client.fault = error as Error;
    }
  });
  return client;
}

/** Every tensor of a state (weights and optimizer slots of every object). */
function tensorsOf(state: CheckpointState): Array<TensorData | Staged> {
  return Object.values(state.objects).flatMap((o) => [...o.weights, ...(o.optimizer?.slots ?? [])]) as Array<TensorData | Staged>;
}

/** A staged reply's state with each file's bytes in `data` (as the store would adopt it). */
function adopt(state: CheckpointState, dir: string): CheckpointState {
  const load = (t: TensorData | Staged): TensorData => {
    const s = t as Staged;
    const data = readFileSync(join(dir, s.file));
    assert.is(data.byteLength, s.bytes, `${s.file}: length`);
    return { name: s.name, dtype: s.dtype as TensorData['dtype'], shape: s.shape, data: new Uint8Array(data) };
  };
  const objects = Object.fromEntries(Object.entries(state.objects).map(([name, o]) => [name, {
    ...o, weights: o.weights.map(load), ...(o.optimizer ? { optimizer: { ...o.optimizer, slots: o.optimizer.slots.map(load) } } : {}),
  }]));
  return { ...state, objects };
}

/** The state with every tensor staged in files under `dir` (absolute paths, sha256), as a supervisor sends it. */
function stageInto(state: CheckpointState, dir: string, tag: string): CheckpointState {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const put = (t: TensorData): Staged => {
    const file = join(dir, `${tag}-${++n}`);
    writeFileSync(file, t.data);
    return { name: t.name, dtype: t.dtype, shape: t.shape, file, bytes: t.data.byteLength, sha256: createHash('sha256').update(t.data).digest('hex') };
  };
  const objects = Object.fromEntries(Object.entries(state.objects).map(([name, o]) => [name, {
    ...o, weights: o.weights.map(put), ...(o.optimizer ? { optimizer: { ...o.optimizer, slots: o.optimizer.slots.map(put) } } : {}),
  }]));
  return { ...state, objects } as unknown as CheckpointState;
}

/**
 * Send a start that may carry `staging` (a field this side's typed messages may not list yet). With staging, these
 * suites stage the tiny LR model's states: `stageMinBytes: 0` unless the config says otherwise (the default, small
 * states in frames, has its own case).
 */
function start(t: Client, config: TrainConfig, seed: number, extra: { staging?: { dir: string }; state?: CheckpointState } = {}): void {
  const staged = extra.staging && config.stageMinBytes === undefined ? { ...config, stageMinBytes: 0 } : config;
  t.send({ type: 'start', config: staged, seed, ...extra });
}

function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Train to the end without staging; the final state and done. */
async function framesRun(script: string, config: TrainConfig, seed: number, state?: CheckpointState) {
  const t = startTrainer(script);
  await t.next('hello');
  start(t, config, seed, state ? { state } : {});
  const done = await t.next('done');
  t.send({ type: 'save', requestId: 'final' });
  const final = (await t.next('state', (m) => m.requestId === 'final')).state;
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
  return { done: done as Done, final: final as CheckpointState, messages: t.messages };
}

test('given the Python SDK, when a trainer says hello, then it lists stage by default; one with its own capabilities opts out', async () => {
  const t = startTrainer(LR);
  assert.ok((await t.next('hello')).capabilities.includes('stage'));
  t.send({ type: 'exit' });
  const o = startTrainer(NO_STAGE);
  const hello = await o.next('hello');
  assert.not.ok(hello.capabilities.includes('stage'));
  assert.ok(hello.capabilities.includes('hold'));
  o.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
  assert.is((await o.exited).code, 0);
});

test('given staging and the default stageMinBytes (4 MiB), when the tiny LR state is saved, then it travels in the frame and nothing is written; with stageMinBytes at its size it is staged', async () => {
  for (const [name, stageMinBytes, staged] of [['small-default', undefined, false], ['small-at-size', 1, true]] as const) {
    const dir = join(work.dir, name);
    mkdirSync(dir);
    const t = startTrainer(LR);
    await t.next('hello');
    const config = stageMinBytes === undefined ? { ...LR_CONFIG } : { ...LR_CONFIG, stageMinBytes };
    // Sent as is (the start helper would add stageMinBytes 0): the default must come from the SDK itself.
    t.send({ type: 'start', config, seed: 5, staging: { dir } });
    await t.next('done');
    t.send({ type: 'save', requestId: 'final' });
    const { state } = await t.next('state', (m) => m.requestId === 'final');
    assert.ok(tensorsOf(state).every((x) => (staged ? 'file' in x && !('data' in x) : 'data' in x && !('file' in x))), `${name}: ${staged ? 'staged' : 'in the frame'}`);
    assert.is(filesIn(dir).length, staged ? tensorsOf(state).length : 0, `${name}: files written`);
    t.send({ type: 'exit' });
    assert.is((await t.exited).code, 0);
  }
});

test('given a trainer that opted out of stage, when start carries staging anyway, then its state replies carry the data in frames and nothing is written', async () => {
  const dir = join(work.dir, 'opt-out');
  mkdirSync(dir);
  const t = startTrainer(NO_STAGE);
  await t.next('hello');
  start(t, LR_CONFIG, 5, { staging: { dir } });
  await t.next('done');
  t.send({ type: 'save', requestId: 'final' });
  const { state } = await t.next('state', (m) => m.requestId === 'final');
  assert.ok(tensorsOf(state).every((x) => 'data' in x && !('file' in x)));
  assert.equal(filesIn(dir), []);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

let reference: Awaited<ReturnType<typeof framesRun>>;
let stagedE2: { state: CheckpointState; dir: string };

test('given start with staging, when every reported position is saved while training goes on, then each reply names complete files in the staging dir holding exactly the frames run\'s bytes', async () => {
  // Every 3rd of 8 batches: no batch_end shares its position with an epoch end (both would be valid answers there).
  reference = await framesRun(LR, { ...LR_CONFIG, batchEvery: 3 }, 5);
  const frameStates = new Map<string, CheckpointState>();
  // The frames reference for every position: a trainer without staging saving each one.
  {
    const f = startTrainer(LR);
    await f.next('hello');
    f.send({ type: 'start', config: { ...LR_CONFIG, batchEvery: 3 }, seed: 5 });
    await f.next('done');
    for (const m of f.messages) {
      if (m.type !== 'batch_end' && m.type !== 'epoch_end') continue;
      const id = `${m.type}-${m.epoch}-${m.step}`;
      f.send({ type: 'save', requestId: id, epoch: m.epoch, step: m.step });
      frameStates.set(id, (await f.next('state', (r) => r.requestId === id)).state);
    }
    f.send({ type: 'exit' });
    await f.exited;
  }
  const dir = join(work.dir, 'staging-lr');
  mkdirSync(dir);
  const t = startTrainer(LR);
  await t.next('hello');
  start(t, { ...LR_CONFIG, batchEvery: 3 }, 5, { staging: { dir } });
  // Ask for each position as it is reported, without waiting for replies: saves overlap training and each other,
  // and the background replies share stdout with the loop's batch_end frames.
  const replies: Array<Promise<{ id: string; state: CheckpointState }>> = [];
  const ended = t.next('done');
  let asked = 0;
  t.child.stdout!.on('data', () => {
    for (; asked < t.messages.length; asked++) {
      const m = t.messages[asked];
      if (m.type !== 'batch_end' && m.type !== 'epoch_end') continue;
      const id = `${m.type}-${m.epoch}-${m.step}`;
      replies.push(t.next('state', (r) => r.requestId === id).then((r) => ({ id, state: r.state })));
      t.send({ type: 'save', requestId: id, epoch: m.epoch, step: m.step });
    }
  });
  const done = await ended;
  const states = await Promise.all(replies);
  assert.is(states.length, frameStates.size);
  assert.is(t.fault, undefined, 'every frame decodes: background replies never interleave with the loop\'s frames');
  assert.is(done.weightsDigest, reference.done.weightsDigest, 'done.weightsDigest as without staging');
  const named = new Set<string>();
  for (const { id, state } of states) {
    for (const x of tensorsOf(state)) {
      const s = x as Staged;
      assert.not.ok('data' in x, `${id}: ${s.name} travels staged`);
      assert.match(s.file, /^[A-Za-z0-9._-]+$/);
      assert.ok(s.file.startsWith(`${id}-`), s.file);
      assert.not.ok(named.has(s.file), `${s.file} is unique`);
      named.add(s.file);
    }
    const adopted = adopt(state, dir);
    const framed = frameStates.get(id)!;
    assert.equal(adopted.trainer, framed.trainer, id);
    assert.equal(adopted.history, framed.history, id);
    assert.equal(tensorsOf(adopted).map((x) => Buffer.from((x as TensorData).data).toString('hex')),
      tensorsOf(framed).map((x) => Buffer.from((x as TensorData).data).toString('hex')), `${id}: weights and slots byte for byte`);
  }
  assert.equal(filesIn(dir), [...named].sort(), 'the staging dir holds exactly the files the replies name');
  stagedE2 = { state: states.find((s) => s.id === 'epoch_end-2-16')!.state, dir };
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a start state whose tensors are staged files, when the trainer resumes from it, then it reads them (leaving them untouched) and ends with the uninterrupted digest', async () => {
  const staged = stageInto(adopt(stagedE2.state, stagedE2.dir), join(work.dir, 'blobs-start'), 'blob');
  const files = tensorsOf(staged).map((x) => (x as Staged).file);
  const before = files.map((f) => [sha(f), statSync(f).mtimeMs]);
  const resumed = await framesRun(LR, { ...LR_CONFIG, batchEvery: 3 }, 5, staged);
  assert.equal(resumed.messages.filter((m) => m.type === 'epoch_end').map((m) => m.epoch), [3, 4]);
  assert.is(resumed.done.weightsDigest, reference.done.weightsDigest);
  assert.equal(resumed.final.history, reference.final.history);
  assert.equal(files.map((f) => [sha(f), statSync(f).mtimeMs]), before, 'read only');
});

test('given restore and eval states with staged tensors, when the trainer runs them, then it restores and evaluates exactly those weights', async () => {
  const e2 = adopt(stagedE2.state, stagedE2.dir);
  const staged = stageInto(e2, join(work.dir, 'blobs-restore'), 'blob');
  const t = startTrainer(LR);
  await t.next('hello');
  start(t, LR_CONFIG, 5);
  await t.next('done');
  t.send({ type: 'eval', requestId: 'framed', state: e2, split: 'validation' });
  const framed = await t.next('eval_result', (m) => m.requestId === 'framed');
  t.send({ type: 'eval', requestId: 'staged', state: staged, split: 'validation' });
  const fromFiles = await t.next('eval_result', (m) => m.requestId === 'staged');
  assert.equal(fromFiles.metrics, framed.metrics);
  assert.is(fromFiles.metrics.loss, e2.history[1].metrics.val_loss);
  t.send({ type: 'restore', state: staged });
  t.send({ type: 'save', requestId: 'now', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'now');
  assert.is(weightsDigest(state), weightsDigest(e2));
  assert.equal(tensorsOf(state).map((x) => Buffer.from((x as TensorData).data).toString('hex')), tensorsOf(e2).map((x) => Buffer.from((x as TensorData).data).toString('hex')));
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a staged tensor whose file is short or missing, when sent in start or eval, then STAGE_FAILED names it: start fails without a traceback, eval fails alone', async () => {
  const e2 = adopt(stagedE2.state, stagedE2.dir);
  const short = stageInto(e2, join(work.dir, 'blobs-short'), 'blob');
  const w = short.objects.model.weights[0] as unknown as Staged;
  writeFileSync(w.file, readFileSync(w.file).subarray(1));
  const a = startTrainer(LR);
  await a.next('hello');
  const failed = a.next('error');
  start(a, LR_CONFIG, 5, { state: short });
  const err = await failed;
  assert.is(err.code, 'STAGE_FAILED');
  assert.match(err.message, new RegExp(`${w.file}.*63 bytes, not the 64`));
  assert.is((await a.exited).code, 1);
  assert.not.match(a.stderr.join(''), /Traceback/);

  const missing = stageInto(e2, join(work.dir, 'blobs-missing'), 'blob');
  const slot = missing.objects.model.optimizer!.slots[1] as unknown as Staged;
  execFileSync('rm', [slot.file]);
  const b = startTrainer(LR);
  await b.next('hello');
  start(b, LR_CONFIG, 5);
  await b.next('done');
  b.send({ type: 'eval', requestId: 'ev', state: missing, split: 'test' });
  const evalError = await b.next('error', (m) => m.requestId === 'ev');
  assert.is(evalError.code, 'STAGE_FAILED');
  assert.match(evalError.message, /b\/velocity/);
  b.send({ type: 'save', requestId: 'after' });
  assert.ok(await b.next('state', (m) => m.requestId === 'after'), 'still serving');
  b.send({ type: 'exit' });
  assert.is((await b.exited).code, 0);
  assert.not.match(b.stderr.join(''), /Traceback/);
});

test('given a staging dir that cannot take files, when a save is asked, then error STAGE_FAILED for that request and the trainer goes on serving', async () => {
  const t = startTrainer(LR);
  await t.next('hello');
  start(t, LR_CONFIG, 5, { staging: { dir: join(work.dir, 'no-such-dir') } });
  await t.next('done');
  t.send({ type: 'save', requestId: 'lost' });
  const err = await t.next('error', (m) => m.requestId === 'lost');
  assert.is(err.code, 'STAGE_FAILED');
  assert.match(err.message, /no-such-dir/);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
  assert.not.ok(existsSync(join(work.dir, 'no-such-dir')), 'nothing created outside the staging dir');
});

test('given a staging dir on a 6 MiB tmpfs, when a save needs 8 MiB, then error STORE_NO_SPACE, its files are gone, and a later save that fits is staged', async () => {
  const disk = join(work.dir, 'small-disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', disk]);
  try {
    const t = startTrainer(BALLAST);
    await t.next('hello');
    start(t, { epochs: 1, batchSize: 1, batches: 2, floats: 1 << 20 }, 7, { staging: { dir: disk } }); // 64 B, then 4 MiB twice
    await t.next('done');
    t.send({ type: 'save', requestId: 'big' });
    const err = await t.next('error', (m) => m.requestId === 'big');
    assert.is(err.code, 'STORE_NO_SPACE', err.message);
    assert.equal(filesIn(disk), [], 'the files of the failed save are deleted (the small one was written)');
    execFileSync('mount', ['-o', 'remount,size=12m', disk]);
    t.send({ type: 'save', requestId: 'fits' });
    const { state } = await t.next('state', (m) => m.requestId === 'fits');
    assert.equal(tensorsOf(state).map((x) => (x as Staged).bytes), [64, 4 << 20, 4 << 20]);
    assert.equal(filesIn(disk), tensorsOf(state).map((x) => (x as Staged).file).sort());
    t.send({ type: 'exit' });
    assert.is((await t.exited).code, 0);
  } finally {
    execFileSync('umount', [disk]);
  }
});

test('given the SDK writing staged files, when the directory takes O_DIRECT (disk) or refuses it (ramfs), then every file is exact at any length, written around the page cache where it can be', () => {
  // Lengths around a 4 KiB block and the 8 MiB bounce buffer; the bytes are a per-length pattern.
  const script = [
    'import json, os, subprocess, sys',
    `sys.path.insert(0, ${JSON.stringify(SDK)})`,
    'import ckpt_trainer',
    'directory = sys.argv[1]',
    'out = {}',
    'for n in [0, 1, 4095, 4096, 4097, 8 * 2**20, 8 * 2**20 + 3, 17 * 2**20 + 5]:',
    '    data = bytes((i * 7 + n) % 251 for i in range(min(n, 65536))) * (n // 65536 + 1)',
    '    data = memoryview(data)[:n]',
    "    path = os.path.join(directory, 'f%d' % n)",
    '    ckpt_trainer._write_file(path, data)',
    "    cached = int(subprocess.check_output(['fincore', '--bytes', '--noheadings', '--output', 'RES', path]).decode().strip() or 0)",
    "    with open(path, 'rb') as f:",
    '        back = f.read()',
    "    out[str(n)] = {'same': back == data.tobytes(), 'size': os.path.getsize(path), 'cached': cached}",
    // stdout belongs to the protocol once the SDK is imported: the answer goes to a file.
    "with open(sys.argv[2], 'w') as f:",
    "    json.dump({'files': out, 'direct': ckpt_trainer._direct_dirs.get(directory, True), 'left': sorted(os.listdir(directory))}, f)",
  ].join('\n');
  const answer = join(work.dir, 'direct-answer.json');
  const run = (dir: string) => {
    execFileSync(PYTHON, ['-c', script, dir, answer]);
    return JSON.parse(readFileSync(answer, 'utf8')) as { files: Record<string, { same: boolean; size: number; cached: number }>; direct: boolean; left: string[] };
  };
  const disk = join(work.dir, 'direct');
  mkdirSync(disk);
  const ramfs = join(work.dir, 'ramfs');
  mkdirSync(ramfs);
  execFileSync('mount', ['-t', 'ramfs', 'ramfs', ramfs]);
  try {
    assert.not.ok(takesDirectIo(ramfs), 'ramfs refuses O_DIRECT');
    for (const [dir, direct] of [[disk, takesDirectIo(disk)], [ramfs, false]] as const) {
      const result = run(dir);
      assert.is(result.direct, direct, `${dir}: O_DIRECT ${direct ? 'used' : 'refused'}`);
      for (const [n, file] of Object.entries(result.files)) {
        assert.ok(file.same, `${dir}/f${n}: bytes`);
        assert.is(file.size, Number(n), `${dir}/f${n}: length`);
        // Written around the page cache, nothing of it is cached before it is read back.
        if (direct) assert.is(file.cached, 0, `${dir}/f${n}: no cached page`);
      }
      assert.is(result.left.length, Object.keys(result.files).length, 'nothing but the files');
    }
  } finally {
    execFileSync('umount', [ramfs]);
  }
});

test('given maxHeld 2 saves whose writes are held up, when a third save is asked, then it waits until one of them replies (backpressure), and all three reply', () => {
  const out = python([
    'import json, sys, tempfile, threading, time',
    'import ckpt_trainer as sdk',
    'gate, write, sent = threading.Event(), sdk._write_file, []',
    'sdk._write_file = lambda path, data: (gate.wait(), write(path, data))[1]  # the disk is stuck until gate opens',
    'sdk.send = sent.append',
    "state = {'objects': {'model': {'weights': [sdk.tensor('w', [1.0, 2.0], [2])]}}, 'trainer': {'epoch': 1, 'step': 1}, 'history': []}",
    'stager = sdk.Stager(tempfile.mkdtemp(), 2)',
    "stager.save('a', state); stager.save('b', state)",
    "third = threading.Thread(target=stager.save, args=('c', state)); third.start()",
    'time.sleep(0.5); waited = third.is_alive()',
    'gate.set(); third.join(10); stager.finish()',
    "sys.__stdout__.write(json.dumps({'waited': waited, 'replies': sorted((m['type'], m['requestId']) for m in sent)}))",
  ].join('\n'));
  const r = JSON.parse(out);
  assert.is(r.waited, true, 'the third save waited while two were in flight');
  assert.equal(r.replies, [['state', 'a'], ['state', 'b'], ['state', 'c']]);
});

for (const ending of ['exit', 'end of stdin'] as const) {
  test(`given a 2 × 32 MiB save in flight, when ${ending} follows at once, then the state reply is sent with complete files before the trainer exits 0`, async () => {
    const dir = join(work.dir, `staging-${ending.replace(/ /g, '-')}`);
    mkdirSync(dir);
    const t = startTrainer(BALLAST);
    await t.next('hello');
    start(t, { epochs: 1, batchSize: 1, batches: 2, floats: 8 << 20 }, 7, { staging: { dir } });
    await t.next('done');
    const reply = t.next('state', (m) => m.requestId === 'last');
    t.send({ type: 'save', requestId: 'last' });
    if (ending === 'exit') t.send({ type: 'exit' });
    t.child.stdin!.end();
    const { state } = await reply;
    assert.is((await t.exited).code, 0);
    const adopted = adopt(state, dir);
    assert.equal(tensorsOf(adopted).map((x) => (x as TensorData).data.byteLength), [64, 32 << 20, 32 << 20]);
    assert.is(weightsDigest(adopted), t.messages.find((m) => m.type === 'done')!.weightsDigest);
  });
}


// ── through `ckpt train`: the real supervisor and store ──────────────────────────────────────────────────────
// stageMinBytes 0: the MNIST MLP's ~1 MB states are staged too (by default they would travel in frames).
const TORCH_ARGS = ['--seed', '3', '--batch-size', '50', '--policy', 'normal', '--trainer-config', JSON.stringify({ ...TORCH_CONFIG, stageMinBytes: 0 })];
const BIG = 8 << 20; // floats per big ballast tensor: 32 MiB files
const BALLAST_ARGS = ['--epochs', '3', '--seed', '7', '--batch-size', '1', '--policy', 'normal', '--trainer-config', JSON.stringify({ batches: 4, floats: BIG })];

interface CliRun { child: ChildProcess; lines: string[]; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; result: any }> }

/** `ckpt train --json` in its own process group; its human lines (stderr) are collected as they come. */
function cliTrain(dir: string, trainer: string, args: string[], onLine: (line: string) => void = () => {}): CliRun {
  const child = spawn(process.execPath, [BIN, 'train', '--dir', dir, '--trainer', trainer, ...args, '--json'],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', CKPT_PYTHON: PYTHON } });
  live.add(child);
  const lines: string[] = [];
  let out = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const line of parts) { lines.push(line); onLine(line); }
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; result: any }>((resolve) => child.on('close', (code, signal) => {
    live.delete(child);
    let result: any = null;
    try { result = JSON.parse(out); } catch { /* killed before it printed */ }
    resolve({ code, signal, result });
  }));
  return { child, lines, done };
}

/** What a finished workspace shows: per-epoch digests of the commits, the run's end, leftovers, verify and gc. */
async function inspect(dir: string) {
  const events = await readEvents(dir);
  const data = <T>(type: string) => events.filter((e) => e.type === type).map((e) => e.data as T);
  const digests = new Map<number, Set<string>>();
  for (const c of data<CheckpointCommitted>('CheckpointCommitted')) digests.set(c.epoch, new Set([...(digests.get(c.epoch) ?? []), c.weightsDigest]));
  const stagingRoot = join(dir, 'tmp', 'staging');
  const gc = ckpt(['gc', '--dry-run', '--json', '--dir', dir]);
  return {
    count: (type: string) => events.filter((e) => e.type === type).length,
    started: data<RunStarted>('RunStarted'),
    resumed: data<RunResumed>('RunResumed'),
    finished: data<RunFinished>('RunFinished'),
    /** epoch -> its commits' digests (one value when every commit of that epoch holds the same weights). */
    perEpoch: [...digests].sort(([a], [b]) => a - b).map(([epoch, set]) => `${epoch}:${[...set].join('|')}`),
    leftovers: existsSync(stagingRoot) ? readdirSync(stagingRoot, { recursive: true }) : [],
    verify: ckpt(['verify', '--all', '--dir', dir]),
    garbage: JSON.parse(gc.stdout) as { blobsDeleted: number; tempsDeleted: number },
  };
}

let torchStaged: Awaited<ReturnType<typeof inspect>>;

test('given torch_mnist under ckpt train, when it runs staged and (opted out) in frames, then every epoch\'s checkpoint has the same weightsDigest and nothing is left in staging', async () => {
  const staged = join(work.dir, 'torch-staged');
  const framed = join(work.dir, 'torch-frames');
  const a = await cliTrain(staged, TORCH_MNIST, ['--epochs', '4', ...TORCH_ARGS]).done;
  const b = await cliTrain(framed, TORCH_NO_STAGE, ['--epochs', '4', ...TORCH_ARGS]).done;
  assert.is(a.code, 0, JSON.stringify(a.result));
  assert.is(b.code, 0, JSON.stringify(b.result));
  torchStaged = await inspect(staged);
  const frames = await inspect(framed);
  assert.is(torchStaged.started[0].tensors, 'staged');
  assert.is(frames.started[0].tensors, 'frames');
  assert.is(torchStaged.perEpoch.length, 4);
  assert.ok(torchStaged.perEpoch.every((e) => !e.includes('|')));
  assert.equal(torchStaged.perEpoch, frames.perEpoch);
  assert.is(a.result.weightsDigest, b.result.weightsDigest);
  assert.is(torchStaged.finished[0].weightsDigest, a.result.weightsDigest);
  for (const w of [torchStaged, frames]) {
    assert.equal(w.leftovers, []);
    assert.is(w.verify.code, 0, w.verify.stdout + w.verify.stderr);
    assert.is(w.garbage.blobsDeleted + w.garbage.tempsDeleted, 0);
  }
});

test('given a staged torch_mnist run whose supervisor group is SIGKILLed after its epoch-3 decision, when ckpt train --resume continues it, then it ends with the uninterrupted digest and the dead session\'s staging dir is gone', async () => {
  const dir = join(work.dir, 'torch-crash');
  const first = cliTrain(dir, TORCH_MNIST, ['--epochs', '4', ...TORCH_ARGS], (line) => {
    if (/save\s+epoch 3/.test(line)) process.kill(-first.child.pid!, 'SIGKILL');
  });
  const killed = await first.done;
  assert.is(killed.signal, 'SIGKILL', first.lines.join('\n'));
  const second = await cliTrain(dir, TORCH_MNIST, ['--epochs', '4', '--resume', ...TORCH_ARGS]).done;
  assert.is(second.code, 0, JSON.stringify(second.result));
  assert.is(second.result.weightsDigest, torchStaged.finished[0].weightsDigest);
  const after = await inspect(dir);
  assert.is(after.resumed.length, 1);
  assert.ok(after.resumed[0].fromCheckpoint, 'resumed from a checkpoint the staged run committed');
  assert.is(after.resumed[0].tensors, 'staged');
  assert.equal(after.perEpoch, torchStaged.perEpoch, 'every epoch committed, each with the uninterrupted weights');
  assert.equal(after.leftovers, []);
  assert.is(after.verify.code, 0, after.verify.stdout);
  assert.is(after.garbage.blobsDeleted + after.garbage.tempsDeleted, 0);
});

const MID_WRITE_KILLS = 3;
let ballastReference: Awaited<ReturnType<typeof inspect>>;

test('given a trainer saving 2 × 32 MiB per checkpoint, when it runs under ckpt train uninterrupted, then every epoch commits from staged files', async () => {
  const dir = join(work.dir, 'ballast-reference');
  const run = await cliTrain(dir, BALLAST, BALLAST_ARGS).done;
  assert.is(run.code, 0, JSON.stringify(run.result));
  ballastReference = await inspect(dir);
  assert.is(ballastReference.started[0].tensors, 'staged');
  assert.is(ballastReference.perEpoch.length, 3);
  assert.equal(ballastReference.leftovers, []);
  assert.is(ballastReference.verify.code, 0);
});

test(`given that trainer, when it is SIGKILLed ${MID_WRITE_KILLS} times in the middle of writing a save's files, then each run resumes to the reference digest, leaves no staged files and verifies clean`, async () => {
  const random = seeded(17_4);
  const expected = new Set([64, BIG * 4]); // the small tensor's file and the big ones'
  let kills = 0;
  for (let i = 0; kills < MID_WRITE_KILLS; i++) {
    assert.ok(i < MID_WRITE_KILLS * 3, `only ${kills} of ${i} kills landed in the middle of a write`);
    const nth = 1 + Math.floor(random() * 3); // which save of the first session to kill in
    const where = `attempt ${i} (save ${nth})`;
    const dir = join(work.dir, `ballast-kill-${i}`);
    const run = cliTrain(dir, BALLAST, BALLAST_ARGS);
    // Watch the staging directory: once files of the nth save appear, stop the trainer, look at them, kill it.
    let seen: string[] = [];
    let midWrite: boolean | null = null;
    const root = join(dir, 'tmp', 'staging');
    while (midWrite === null && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 1));
      const sessions = existsSync(root) ? readdirSync(root) : [];
      if (sessions.length !== 1) continue;
      const session = join(root, sessions[0]);
      const files = existsSync(session) ? readdirSync(session) : [];
      seen = [...new Set([...seen, ...files.map((f) => f.replace(/-\d+$/, ''))])];
      if (seen.length < nth) continue;
      const [trainer] = childPids(run.child.pid!);
      process.kill(trainer, 'SIGSTOP');
      const sizes = readdirSync(session).filter((f) => f.startsWith(`${seen[nth - 1]}-`)).map((f) => statSync(join(session, f)).size);
      process.kill(trainer, 'SIGKILL');
      midWrite = sizes.some((size) => !expected.has(size));
    }
    const end = await run.done;
    assert.is(end.code, 0, `${where}: ${JSON.stringify(end.result)}\n${run.lines.join('\n')}`);
    const w = await inspect(dir);
    assert.is(w.count('RunCrashed'), 1, where);
    assert.is(end.result.restarts, 1, where);
    assert.is(end.result.weightsDigest, ballastReference.finished[0].weightsDigest, where);
    assert.equal(w.perEpoch, ballastReference.perEpoch, `${where}: every commit holds the reference weights of its epoch`);
    assert.equal(w.leftovers, [], `${where}: no staged files left`);
    assert.is(w.verify.code, 0, `${where}: ${w.verify.stdout}`);
    assert.is(w.garbage.blobsDeleted + w.garbage.tempsDeleted, 0, `${where}: no orphans`);
    if (midWrite) kills++;
    else console.log(`  ${where}: the kill landed after the files were complete; not counted`);
  }
});

test.after(() => {
  for (const child of live) child.kill('SIGKILL');
  work.cleanup();
});

test.run();
