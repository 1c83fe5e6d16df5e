// SIGINT / SIGTERM to the supervisor (a child process running train()): the trainer is asked for a final
// checkpoint, the run is recorded as stopped, the exit code is 130 / 143, and `resume: true` continues the
// run to the same weights as an uninterrupted one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train, type TrainOptions } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, tempDir } from './fixtures/run-helpers.js';
import { bundleDriver, runDriver } from './fixtures/run-driver-process.js';

const options = {
  trainer: FAKE_TRAINER, epochs: 5, seed: 9, batchEvery: 0, policy: 'normal',
  trainerConfig: { batchesPerEpoch: 10, batchMs: 6 },
};
const quiet: Partial<TrainOptions> = { out: null, handleSignals: false };
let baseline: string | null = null;

test.before(async () => {
  await bundleDriver();
  const t = tempDir();
  try {
    baseline = (await train({ ...options, ...quiet, dir: t.dir })).weightsDigest;
  } finally {
    t.cleanup();
  }
});

test('given SIGINT exactly as an epoch save is decided, when the supervisor stops, then no step is committed twice and the stop names the checkpoint of its position', async () => {
  for (const line of [2, 3, 4]) {
    const t = tempDir();
    try {
      // Line N (N >= 2) is the save decision of epoch N - 1: the signal lands while that very save is in flight.
      const run = await runDriver({ ...options, dir: t.dir }, { line, delayMs: 0, signal: 'SIGINT' });
      assert.is(run.code, 130, `line ${line}`);
      const facts = await ledgerFacts(t.dir);
      const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as { checkpoint: string; epoch: number; step: number });
      const steps = commits.map((c) => c.step);
      assert.equal(steps, [...new Set(steps)], `line ${line}: one checkpoint per step, got steps ${steps}`);
      const interrupt = facts.events.find((e) => e.type === 'SaveDecided' && (e.data as { rule: string }).rule === 'interrupt')!.data as { epoch: number; step: number };
      assert.ok(commits.some((c) => c.epoch === interrupt.epoch && c.step === interrupt.step), `line ${line}: a checkpoint holds the stop's position (step ${interrupt.step})`);
      assert.ok(facts.kept.every((k) => k.ok));
    } finally {
      t.cleanup();
    }
  }
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`given a run in epoch 3, when the supervisor gets ${signal}, then it saves a final checkpoint, records RunStopped and exits ${code}`, async () => {
    const t = tempDir();
    try {
      // Line 1 is the run header, then one decision line per epoch: signal during epoch 3.
      const run = await runDriver({ ...options, dir: t.dir }, { line: 3, delayMs: 10, signal });
      assert.is(run.code, code);
      assert.is(run.result?.exitCode, code);
      const facts = await ledgerFacts(t.dir);
      const stopped = facts.events.filter((e) => e.type === 'RunStopped');
      assert.is(stopped.length, 1);
      assert.is((stopped[0].data as { signal: string }).signal, signal);
      const interrupt = facts.events.find((e) => e.type === 'SaveDecided' && (e.data as { rule: string }).rule === 'interrupt');
      assert.ok(interrupt, 'the final save is a recorded decision');
      // The final checkpoint holds the interrupt's position: a new one labelled `interrupted`, or the existing one
      // when that position was already committed (issue 12 item 8: never a second checkpoint of one step).
      const at = interrupt!.data as { epoch: number; step: number };
      const atPosition = facts.events.filter((e) => e.type === 'CheckpointCommitted' && (e.data as { epoch: number; step: number }).step === at.step && (e.data as { epoch: number }).epoch === at.epoch);
      assert.is(atPosition.length, 1, `exactly one checkpoint of step ${at.step}`);
      const final = atPosition[0];
      assert.ok(final.seq < stopped[0].seq, 'the final checkpoint is committed before RunStopped');
      if ((final.data as { decisionSeq?: number }).decisionSeq === interrupt!.seq) assert.equal((final.data as { labels: string[] }).labels, ['interrupted']);
      assert.ok(facts.kept.every((k) => k.ok));
      assert.is(facts.count('RunFinished'), 0);

      const resumed = await train({ ...options, ...quiet, dir: t.dir, resume: true });
      assert.is(resumed.exitCode, 0);
      assert.is(resumed.run, 'run-1');
      assert.match(baseline ?? '', /^[0-9a-f]{64}$/);
      assert.is(resumed.weightsDigest, baseline);
      const after = await ledgerFacts(t.dir);
      const resumedEvent = after.events.find((e) => e.type === 'RunResumed')!.data as { reason: string; fromCheckpoint: string };
      assert.is(resumedEvent.reason, 'resume');
      assert.is(resumedEvent.fromCheckpoint, (final!.data as { checkpoint: string }).checkpoint);
    } finally {
      t.cleanup();
    }
  });
}

test('given a stopped run, when train runs without resume, then it starts a new run instead', async () => {
  const t = tempDir();
  try {
    await runDriver({ ...options, dir: t.dir }, { line: 2, delayMs: 0, signal: 'SIGINT' });
    const next = await train({ ...options, ...quiet, dir: t.dir });
    assert.is(next.run, 'run-2');
    assert.is(next.weightsDigest, baseline);
  } finally {
    t.cleanup();
  }
});

test.run();
