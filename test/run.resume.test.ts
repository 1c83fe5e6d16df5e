// Resume picks the newest committed checkpoint that verifies: a corrupted newest checkpoint is recorded and
// skipped, the run continues from the one before, and still ends with the uninterrupted run's weights.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { train, type TrainOptions } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, tempDir } from './fixtures/run-helpers.js';

const base: TrainOptions = {
  trainer: FAKE_TRAINER, epochs: 5, seed: 13, batchEvery: 0, out: null, handleSignals: false, policy: { everyNEpochs: 1, keepLast: 10 },
  trainerConfig: { batchesPerEpoch: 10, batchMs: 3 },
};

let baseline: string | null = null;

test.before(async () => {
  const t = tempDir();
  try {
    baseline = (await train({ ...base, dir: t.dir })).weightsDigest;
  } finally {
    t.cleanup();
  }
});

/** A run whose trainer was SIGKILLed during epoch 4 and not restarted (maxRestarts 0). */
async function crashedRun(dir: string): Promise<void> {
  process.env.FAKE_KILL_AT = 'step:35';
  try {
    const crashed = await train({ ...base, dir, maxRestarts: 0 });
    assert.is(crashed.exitCode, 1);
  } finally {
    delete process.env.FAKE_KILL_AT;
  }
}

test('given a crashed run whose newest checkpoint is corrupt, when resumed, then it falls back to the previous one and ends with the same weights', async () => {
  const t = tempDir();
  try {
    await crashedRun(t.dir);
    const before = await ledgerFacts(t.dir);
    const commits = before.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as { checkpoint: string; epoch: number; blobs: string[]; manifest: string });
    const newest = commits[commits.length - 1];
    const others = new Set(commits.slice(0, -1).flatMap((c) => c.blobs));
    const unique = newest.blobs.find((b) => b !== newest.manifest && !others.has(b))!;
    assert.ok(unique, 'the newest checkpoint has a blob of its own');
    const path = join(t.dir, 'objects', unique.slice(0, 2), unique.slice(2));
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);

    const resumed = await train({ ...base, dir: t.dir, resume: true });
    assert.is(resumed.exitCode, 0);
    assert.is(resumed.weightsDigest, baseline);
    const after = await ledgerFacts(t.dir);
    const event = after.events.find((e) => e.type === 'RunResumed')!.data as { fromCheckpoint: string; epoch: number };
    assert.is.not(event.fromCheckpoint, newest.checkpoint);
    assert.is(event.epoch, commits[commits.length - 2].epoch);
    assert.ok(after.events.some((e) => e.type === 'CheckpointCorrupted' && (e.data as { checkpoint: string }).checkpoint === newest.checkpoint), 'the corruption is recorded');
  } finally {
    t.cleanup();
  }
});

test('given a crashed run, when train runs with resume false, then the crash stays recorded and a new run starts', async () => {
  const t = tempDir();
  try {
    await crashedRun(t.dir);
    const next = await train({ ...base, dir: t.dir, resume: false });
    assert.is(next.run, 'run-2');
    assert.is(next.weightsDigest, baseline);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('RunCrashed'), 1);
    assert.is(facts.count('RunResumed'), 0);
  } finally {
    t.cleanup();
  }
});

test('given a crashed run, when train runs with no resume option, then it resumes that run automatically', async () => {
  const t = tempDir();
  try {
    await crashedRun(t.dir);
    const next = await train({ ...base, dir: t.dir });
    assert.is(next.run, 'run-1');
    assert.is(next.weightsDigest, baseline);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('RunResumed'), 1);
    assert.is(facts.count('RunStarted'), 1);
  } finally {
    t.cleanup();
  }
});

test.run();
