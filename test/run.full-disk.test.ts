// Issue 12 item 3, a full disk: on a real 8 MiB tmpfs holding the blob store, saves that cannot be written are
// SaveFailed events with STORE_NO_SPACE (nothing committed in their place), the run does not end as a plain
// success (failedSaves in RunFinished, exit 3), the failed writes leave no orphan blobs, and once space is freed
// `--resume` continues that same run from its newest verified checkpoint to the planned end.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SaveFailed, RunFinished, RunResumed } from '../src/events.js';
import { EXIT_SAVES_FAILED, train, type TrainOptions } from '../src/run/train.js';
import { assertNoGarbage, FAKE_TRAINER, keepLastPolicy, ledgerFacts, tempDir, testPorts } from './fixtures/run-helpers.js';

const WEIGHTS = 131_072; // 512 KiB of float32 per checkpoint, different every epoch
const base: TrainOptions = {
  trainer: FAKE_TRAINER, epochs: 6, seed: 5, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0,
  trainerConfig: { batchesPerEpoch: 2, batchMs: 1 }, ports: testPorts(keepLastPolicy(100)),
};

test('given a blob store on an 8 MiB tmpfs with room for three checkpoints, when six epochs save, then SaveFailed STORE_NO_SPACE, exit 3, no orphans, and --resume finishes run-1', async () => {
  const t = tempDir();
  const disk = join(t.dir, 'disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
  process.env.FAKE_WEIGHTS = String(WEIGHTS);
  try {
    const dir = join(t.dir, 'ckpt');
    mkdirSync(dir);
    // The blob store (objects/ and its tmp/) on the small disk; the ledger stays on the big one.
    for (const sub of ['objects', 'tmp']) {
      mkdirSync(join(disk, sub));
      symlinkSync(join(disk, sub), join(dir, sub));
    }
    // 8 MiB minus room for three 512 KiB checkpoints (and their manifests) and change.
    writeFileSync(join(disk, 'filler'), Buffer.alloc(8 * 1024 * 1024 - 1_750_000));

    const first = await train({ ...base, dir });
    assert.is(first.exitCode, EXIT_SAVES_FAILED, first.error?.message);
    assert.is(first.status, 'finished');
    assert.ok((first.failedSaves ?? 0) >= 1, `failedSaves ${first.failedSaves}`);
    let facts = await ledgerFacts(dir);
    const failed = facts.events.filter((e) => e.type === 'SaveFailed').map((e) => e.data as SaveFailed);
    const committedEpochs = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => (e.data as { epoch: number }).epoch);
    assert.ok(committedEpochs.length >= 1 && committedEpochs.length < 6, `committed epochs ${committedEpochs}; ${failed.map((f) => f.reason).join(" / ")}`);
    assert.ok(failed.length >= 1);
    for (const f of failed) {
      assert.is(f.code, 'STORE_NO_SPACE', f.reason);
      assert.not.ok(committedEpochs.includes(f.epoch), `epoch ${f.epoch} failed and yet was committed`);
    }
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as RunFinished;
    assert.is(finished.failedSaves, first.failedSaves);
    assert.equal([...new Set(failed.map((f) => f.epoch))].length, finished.failedSaves, 'one count per failed position');
    assert.ok(facts.kept.every((k) => k.ok), 'every committed checkpoint verifies');
    await assertNoGarbage(dir);

    rmSync(join(disk, 'filler'));
    const resumed = await train({ ...base, dir, epochs: undefined, resume: true });
    assert.is(resumed.exitCode, 0, resumed.error?.message);
    assert.is(resumed.run, 'run-1', 'the same run continues');
    assert.is(resumed.epoch, 6, 'to the planned end');
    facts = await ledgerFacts(dir);
    const resume = facts.events.filter((e) => e.type === 'RunResumed').map((e) => e.data as RunResumed);
    assert.is(resume.length, 1);
    assert.is(resume[0].epoch, Math.max(...committedEpochs), 'from its newest verified checkpoint');
    assert.is(facts.count('RunStarted'), 1, 'no second run');
    const committedAfter = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => (e.data as { epoch: number }).epoch);
    assert.equal([...new Set(committedAfter)].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6], 'every epoch saved in the end');
    const lastFinished = facts.events.filter((e) => e.type === 'RunFinished').at(-1)!.data as RunFinished;
    assert.is(lastFinished.failedSaves, undefined, 'every failed position was saved by the resume');
  } finally {
    delete process.env.FAKE_WEIGHTS;
    execFileSync('umount', [disk]);
    t.cleanup();
  }
});

test.run();
