// `ckpt train --trainer trainers/python/torch_mnist.py`, 4 epochs, killed with SIGKILL at seeded points: the
// PyTorch trainer (5 points), and separately the supervisor's whole process group (5 points). Every resumed run
// ends with the uninterrupted run's weightsDigest, and every kept checkpoint verifies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { train, type TrainOptions } from '../src/run/train.js';
import { isPidAlive } from '../src/server/owner-file.js';
import { ledgerFacts, lineWatcher, seeded, tempDir } from './fixtures/run-helpers.js';
import { BIN } from './cli.helpers.js';
import { childPids, TORCH_CONFIG, TORCH_MNIST } from './torch.helpers.js';

const TRAINER_KILLS = 5;
const SUPERVISOR_KILLS = 5;
const base: TrainOptions = {
  trainer: TORCH_MNIST, epochs: 4, seed: 3, batchSize: 50, batchEvery: 5, policy: 'normal', handleSignals: false,
  trainerConfig: TORCH_CONFIG, restartBackoffMs: 5, maxRestarts: 3,
};

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) { if (!isPidAlive(pid)) return true; await new Promise((r) => setTimeout(r, 25)); }
  return !isPidAlive(pid);
}

/** A kill point: `delayMs` after the supervisor's `line`-th output line (run header, then one per decision). */
function drawPoint(random: () => number): { line: number; delayMs: number } {
  return { line: 1 + Math.floor(random() * 4), delayMs: Math.floor(random() * 600) };
}

let baseline = '';

test('given torch_mnist under the supervisor, when a 4-epoch run completes uninterrupted, then RunFinished records its weightsDigest', async () => {
  const t = tempDir('ckpt-torch-');
  try {
    const result = await train({ ...base, dir: t.dir, out: null });
    assert.is(result.exitCode, 0, JSON.stringify(result.error));
    assert.is(result.epoch, 4);
    baseline = result.weightsDigest ?? '';
    assert.match(baseline, /^[0-9a-f]{64}$/);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('EpochEnded'), 4);
    assert.is(facts.count('RunCrashed'), 0);
    assert.ok(facts.kept.length > 0 && facts.kept.every((k) => k.ok));
  } finally {
    t.cleanup();
  }
});

test(`given ${TRAINER_KILLS} seeded points, when the PyTorch trainer is SIGKILLed at each, then the supervisor resumes it to the uninterrupted weights`, async () => {
  const random = seeded(15_2026);
  let kills = 0;
  for (let i = 0; kills < TRAINER_KILLS; i++) {
    assert.ok(i < TRAINER_KILLS * 3, `only ${kills} of ${i} seeded points landed while the trainer ran`);
    const point = drawPoint(random);
    const where = `kill point ${i} (trainer, after line ${point.line} + ${point.delayMs} ms)`;
    const t = tempDir('ckpt-torch-');
    const trainers: number[] = [];
    let lines = 0;
    let killed = false;
    const out = lineWatcher(() => {
      if (++lines !== point.line) return;
      setTimeout(() => {
        const pid = trainers[0];
        if (trainers.length === 1 && isPidAlive(pid)) { process.kill(pid, 'SIGKILL'); killed = true; }
      }, point.delayMs);
    });
    try {
      const result = await train({ ...base, dir: t.dir, out, onTrainerSpawn: (pid) => trainers.push(pid) });
      assert.is(result.exitCode, 0, `${where}: ${JSON.stringify(result.error)}`);
      assert.is(result.weightsDigest, baseline, where);
      const facts = await ledgerFacts(t.dir);
      assert.ok(facts.kept.length > 0 && facts.kept.every((k) => k.ok), `${where}: every kept checkpoint verifies`);
      const finished = facts.events.filter((e) => e.type === 'RunFinished');
      assert.is(finished.length, 1, where);
      assert.is((finished[0].data as { weightsDigest: string }).weightsDigest, baseline, where);
      if (!killed || result.restarts === 0) {
        assert.is(facts.count('RunCrashed'), 0, `${where}: a kill that landed after the trainer's work is no crash`);
        continue;
      }
      kills++;
      assert.is(result.restarts, 1, `${where}: one restart`);
      const crashed = facts.events.find((e) => e.type === 'RunCrashed')!;
      assert.is((crashed.data as { signal: string | null }).signal, 'SIGKILL', where);
      const resumed = facts.events.find((e) => e.type === 'RunResumed');
      assert.ok(resumed && resumed.seq > crashed.seq, `${where}: resumed after the crash`);
    } finally {
      t.cleanup();
    }
  }
});

/** `ckpt train` (the real CLI) in its own process group; SIGKILL the whole group at `point`. */
function trainCliKilled(dir: string, point: { line: number; delayMs: number }): Promise<{ signal: NodeJS.Signals | null; code: number | null; trainers: number[] }> {
  const args = [BIN, 'train', '--dir', dir, '--trainer', TORCH_MNIST, '--epochs', '4', '--seed', '3', '--batch-size', '50', '--policy', 'normal', '--trainer-config', JSON.stringify(TORCH_CONFIG), '--json'];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const trainers = new Set<number>();
    let lines = 0;
    let buffer = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      buffer += text;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const _ of parts) {
        for (const pid of childPids(child.pid!)) trainers.add(pid);
        if (++lines === point.line) {
          setTimeout(() => {
            for (const pid of childPids(child.pid!)) trainers.add(pid);
            try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group already ended */ }
          }, point.delayMs);
        }
      }
    });
    child.on('close', (code, signal) => resolve({ code, signal, trainers: [...trainers] }));
  });
}

test(`given ${SUPERVISOR_KILLS} seeded points, when ckpt train's process group is SIGKILLed at each, then the next ckpt train recovers to the same weights`, async () => {
  const random = seeded(15_77);
  let kills = 0;
  for (let i = 0; kills < SUPERVISOR_KILLS; i++) {
    assert.ok(i < SUPERVISOR_KILLS * 3, `only ${kills} of ${i} seeded points landed before the run finished`);
    const point = drawPoint(random);
    const where = `kill point ${i} (supervisor group, after line ${point.line} + ${point.delayMs} ms)`;
    const t = tempDir('ckpt-torch-');
    try {
      const first = await trainCliKilled(t.dir, point);
      if (first.signal !== 'SIGKILL') {
        assert.is(first.code, 0, `${where}: a run that ended before the kill finished cleanly`);
        continue;
      }
      kills++;
      for (const pid of first.trainers) assert.ok(await waitGone(pid, 15_000), `${where}: the orphaned trainer ${pid} exits on its own`);
      const before = await ledgerFacts(t.dir);
      assert.ok(before.kept.every((k) => k.ok), `${where}: committed checkpoints verify after the kill`);
      const second = await train({ ...base, dir: t.dir, out: null });
      assert.is(second.exitCode, 0, `${where}: ${JSON.stringify(second.error)}`);
      assert.is(second.weightsDigest, baseline, where);
      const after = await ledgerFacts(t.dir);
      assert.ok(after.kept.every((k) => k.ok), `${where}: every kept checkpoint verifies`);
      if (before.count('RunStarted') > 0 && before.count('RunFinished') === 0) {
        assert.ok(after.events.some((e) => e.type === 'RunCrashed'), `${where}: the crash is recorded`);
        assert.is(after.count('RunStarted'), 1, `${where}: the same run continues`);
      }
    } finally {
      t.cleanup();
    }
  }
});

test.run();
