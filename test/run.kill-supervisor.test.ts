// SIGKILL the supervisor itself (a child process running train()) at 20 seeded points of a 5-epoch run. The
// orphaned trainer exits on its own; the next start records RunCrashed, resumes from the newest checkpoint
// that verifies, and ends with weights bit-identical to an uninterrupted run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, seeded, tempDir } from './fixtures/run-helpers.js';
import { bundleDriver, runDriver } from './fixtures/run-driver-process.js';
import { isPidAlive } from '../src/server/owner-file.js';

const KILL_POINTS = 20;
const options = {
  trainer: FAKE_TRAINER, epochs: 5, seed: 5, batchEvery: 0, policy: 'normal', restartBackoffMs: 5,
  trainerConfig: { batchesPerEpoch: 10, batchMs: 4 },
};
test.before(bundleDriver);

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) { if (!isPidAlive(pid)) return true; await new Promise((r) => setTimeout(r, 25)); }
  return !isPidAlive(pid);
}

let baseline = '';

test('given the driver, when a run completes uninterrupted, then it exits 0 with a weightsDigest', async () => {
  const t = tempDir();
  try {
    const run = await runDriver({ ...options, dir: t.dir });
    assert.is(run.code, 0);
    baseline = run.result?.weightsDigest ?? '';
    assert.match(baseline, /^[0-9a-f]{64}$/);
    assert.ok(run.lines.some((l) => /save/.test(l)), 'decision lines are printed when stdout is not a TTY');
  } finally {
    t.cleanup();
  }
});

test(`given ${KILL_POINTS} seeded points, when the supervisor is SIGKILLed at each, then the next start recovers to the same weights`, async () => {
  const random = seeded(77);
  // A point late in the run may come after the run already finished on a fast (quiet) machine: such a point
  // is checked as a clean finish and another seeded point is drawn, until KILL_POINTS real kills happened.
  let kills = 0;
  for (let i = 0; kills < KILL_POINTS; i++) {
    assert.ok(i < KILL_POINTS * 3, `only ${kills} of ${i} seeded points landed before the run finished`);
    const killAfter = { line: 1 + Math.floor(random() * 9), delayMs: Math.floor(random() * 40) };
    const where = `kill point ${i} (after line ${killAfter.line} + ${killAfter.delayMs} ms)`;
    const t = tempDir();
    try {
      const first = await runDriver({ ...options, dir: t.dir }, killAfter);
      if (first.signal !== 'SIGKILL') {
        assert.is(first.code, 0, `${where}: a run that ended before the kill finished cleanly`);
        assert.is(first.result?.weightsDigest, baseline, where);
        continue;
      }
      kills++;
      assert.ok(first.trainers.length >= 1, where);
      for (const pid of first.trainers) assert.ok(await waitGone(pid, 5000), `${where}: orphaned trainer ${pid} exits`);
      const before = await ledgerFacts(t.dir);
      assert.ok(before.kept.every((k) => k.ok), `${where}: committed checkpoints verify after the kill`);
      const finishedBefore = before.count('RunFinished') > 0;

      // The next start (in this process: what matters is that it is a new owner of the directory).
      const second = await train({ ...options, dir: t.dir, out: null, handleSignals: false });
      assert.is(second.exitCode, 0, where);
      assert.is(second.weightsDigest, baseline, where);
      const after = await ledgerFacts(t.dir);
      assert.ok(after.kept.every((k) => k.ok), `${where}: every kept checkpoint verifies`);
      for (const id of before.kept.map((k) => k.checkpoint)) {
        const pruned = after.events.some((e) => e.type === 'CheckpointPruned' && (e.data as { checkpoint: string }).checkpoint === id);
        assert.ok(pruned || after.kept.some((k) => k.checkpoint === id), `${where}: ${id} is kept or pruned by policy, never lost`);
      }
      if (before.count('RunStarted') === 0) {
        // Killed before the run was recorded at all: the next start simply starts it.
        assert.is(after.count('RunStarted'), 1, where);
        assert.is(after.count('RunResumed'), 0, where);
      } else if (!finishedBefore) {
        const crash = after.events.find((e) => e.type === 'RunCrashed');
        assert.ok(crash, `${where}: the crash is recorded`);
        assert.is((crash!.data as { code: string }).code, 'RUN_UNCLEAN_END', where);
        const resumed = after.events.find((e) => e.type === 'RunResumed');
        assert.ok(resumed && resumed.seq > crash!.seq, `${where}: resumed after the crash`);
        assert.is(after.count('RunStarted'), 1, `${where}: the same run continues`);
      }
    } finally {
      t.cleanup();
    }
  }
});

test.run();
