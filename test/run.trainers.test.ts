// The real trainers under the supervisor: the Python example and mnist-mlp complete runs, and survive a
// SIGKILL of the trainer (and, for mnist-mlp, of the supervisor) with bit-identical final weights.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { train, type TrainOptions } from '../src/run/train.js';
import { ledgerFacts, lineWatcher, tempDir } from './fixtures/run-helpers.js';
import { bundleDriver, runDriver } from './fixtures/run-driver-process.js';

const PYTHON = fileURLToPath(new URL('../trainers/python/logistic_regression.py', import.meta.url));
const quiet: Partial<TrainOptions> = { out: null, handleSignals: false, restartBackoffMs: 10 };
const mlp = { trainer: 'mnist-mlp', epochs: 3, seed: 21, policy: 'normal', trainerConfig: { trainSize: 400, validationSize: 100, testSize: 100 } };
// keepEpochStates: a trainer without 'hold' (protocol backpressure) must keep every epoch state the supervisor
// may still ask for; a state it dropped is a SaveFailed now, never another epoch's state.
const python = { trainer: PYTHON, epochs: 5, seed: 4, policy: 'normal', trainerConfig: { trainSize: 256, keepEpochStates: 64 } };

/** Run to the end, SIGKILLing the trainer once `pattern` appears in the output. */
async function runKillingTrainerAt(options: TrainOptions, pattern: RegExp, dir: string) {
  let pid = 0;
  let killed = false;
  const out = lineWatcher((line) => {
    if (!killed && pattern.test(line)) { killed = true; process.kill(pid, 'SIGKILL'); }
  });
  const result = await train({ ...options, ...quiet, dir, out, onTrainerSpawn: (p) => { if (!killed) pid = p; } });
  return { result, killed };
}

test.before(bundleDriver);

test('given the Python example trainer, when supervised, then it completes, and a SIGKILL at epoch 2 resumes to the same weights', async () => {
  const clean = tempDir();
  const killed = tempDir();
  try {
    const first = await train({ ...python, ...quiet, dir: clean.dir });
    assert.is(first.exitCode, 0);
    assert.is(first.epoch, 5);
    const facts = await ledgerFacts(clean.dir);
    const started = facts.events.find((e) => e.type === 'RunStarted')!.data as { backend: string };
    assert.is(started.backend, 'python');
    assert.match(first.weightsDigest ?? '', /^[0-9a-f]{64}$/);

    const { result, killed: didKill } = await runKillingTrainerAt(python, /epoch 2/, killed.dir);
    assert.ok(didKill);
    assert.is(result.exitCode, 0);
    assert.is(result.restarts, 1);
    assert.is(result.weightsDigest, first.weightsDigest);
  } finally {
    clean.cleanup();
    killed.cleanup();
  }
});

let mlpDigest: string | null = null;

test('given mnist-mlp, when a 3-epoch run completes, then RunStarted names its backend and RunFinished its weights', async () => {
  const t = tempDir();
  try {
    const result = await train({ ...mlp, ...quiet, dir: t.dir });
    assert.is(result.exitCode, 0);
    mlpDigest = result.weightsDigest;
    assert.match(mlpDigest ?? '', /^[0-9a-f]{64}$/);
    const facts = await ledgerFacts(t.dir);
    const started = facts.events.find((e) => e.type === 'RunStarted')!.data as { backend: string; trainer: string };
    assert.is(started.trainer, 'mnist-mlp');
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(started.backend), started.backend);
    assert.is(facts.count('EpochEnded'), 3);
  } finally {
    t.cleanup();
  }
});

test('given mnist-mlp, when the trainer is SIGKILLed after epoch 2 is saved, then the resumed run ends bit-identical', async () => {
  const t = tempDir();
  try {
    const { result, killed } = await runKillingTrainerAt(mlp, /epoch 2/, t.dir);
    assert.ok(killed);
    assert.is(result.exitCode, 0);
    assert.is(result.restarts, 1);
    assert.is(result.weightsDigest, mlpDigest);
    const facts = await ledgerFacts(t.dir);
    const resumed = facts.events.find((e) => e.type === 'RunResumed')!.data as { fromCheckpoint: string | null; epoch: number };
    assert.ok(resumed.fromCheckpoint !== null && resumed.epoch >= 1, 'resumed from a checkpoint, not from scratch');
  } finally {
    t.cleanup();
  }
});

test('given mnist-mlp, when the supervisor is SIGKILLed during epoch 2, then the next start resumes to the same weights', async () => {
  const t = tempDir();
  try {
    const first = await runDriver({ ...mlp, dir: t.dir, batchEvery: 0 }, { line: 2, delayMs: 50 });
    assert.is(first.signal, 'SIGKILL');
    const second = await train({ ...mlp, ...quiet, dir: t.dir });
    assert.is(second.exitCode, 0);
    assert.is(second.weightsDigest, mlpDigest);
    const facts = await ledgerFacts(t.dir);
    assert.is((facts.events.find((e) => e.type === 'RunCrashed')!.data as { code: string }).code, 'RUN_UNCLEAN_END');
    assert.is(facts.count('RunResumed'), 1);
    assert.ok(facts.kept.every((k) => k.ok));
  } finally {
    t.cleanup();
  }
});

test.run();
