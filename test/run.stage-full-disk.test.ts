// A full disk while a stage trainer writes its staged files (capability `stage`): on a real 8 MiB tmpfs holding
// the blob store (objects/ and tmp/, so the staging directories too), the SDK's ENOSPC comes back as an error reply
// STORE_NO_SPACE and is recorded as SaveFailed with that code, nothing is committed in its place, the run exits 3,
// no staged file or temp file is left behind, and once space is freed `--resume` finishes the same run (an epoch
// whose save failed before a later one committed stays failed: resume goes on from the newest checkpoint).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointCommitted, RunFinished, RunResumed, RunStarted, SaveFailed } from '../src/events.js';
import { EXIT_SAVES_FAILED, train, type TrainOptions } from '../src/run/train.js';
import { assertNoGarbage, keepLastPolicy, ledgerFacts, tempDir, testPorts } from './fixtures/run-helpers.js';
import { bundleStageTrainer, filesIn, STAGE_TRAINER, stagingDirs, stagingRoot, watchStaging } from './fixtures/stage-helpers.js';

// 3 × 256 KiB of float32 per checkpoint (two weights, one slot), different every epoch.
const CONFIG = { tensors: 2, floats: 65_536, batchesPerEpoch: 2, stageMinBytes: 0 };
const base: TrainOptions = {
  trainer: STAGE_TRAINER, epochs: 6, seed: 5, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0,
  trainerConfig: CONFIG, ports: testPorts(keepLastPolicy(100)),
};

test.before(bundleStageTrainer);

test('given a blob store on an 8 MiB tmpfs with room for three staged checkpoints, when six epochs save, then SaveFailed STORE_NO_SPACE from the trainer, exit 3, nothing staged left, and --resume finishes run-1', async () => {
  const t = tempDir('ckpt-stage-disk-');
  const disk = join(t.dir, 'disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
  try {
    const dir = join(t.dir, 'ckpt');
    mkdirSync(dir);
    // The blob store (objects/ and its tmp/, where staging directories are made) on the small disk; the ledger on the big one.
    for (const sub of ['objects', 'tmp']) {
      mkdirSync(join(disk, sub));
      symlinkSync(join(disk, sub), join(dir, sub));
    }
    // Room for three 768 KiB checkpoints (and their manifests) and change.
    writeFileSync(join(disk, 'filler'), Buffer.alloc(8 * 1024 * 1024 - 2_700_000));
    // The session's staging directory as last seen before the supervisor removed it: the trainer deleted the files
    // of the saves it could not stage, the store adopted the others, so it is empty by then.
    let last: string[] | null = null;
    const watcher = watchStaging(dir, (session) => {
      const path = join(stagingRoot(dir), session);
      const files = filesIn(path).map((f) => f.name);
      if (existsSync(path)) last = files;
      return false;
    });

    const first = await train({ ...base, dir });
    watcher.stop();
    assert.is(first.exitCode, EXIT_SAVES_FAILED, first.error?.message);
    assert.is(first.status, 'finished');
    assert.equal(last, [], 'no staged file was left in the session\'s directory when the run ended');
    let facts = await ledgerFacts(dir);
    assert.is((facts.events.find((e) => e.type === 'RunStarted')!.data as RunStarted).tensors, 'staged');
    const failed = facts.events.filter((e) => e.type === 'SaveFailed').map((e) => e.data as SaveFailed);
    const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    const committedEpochs = commits.map((c) => c.epoch);
    assert.ok(committedEpochs.length >= 1 && new Set(committedEpochs).size < 6, `committed epochs ${committedEpochs}; ${failed.map((f) => f.reason).join(' / ')}`);
    assert.ok(failed.length >= 1);
    for (const f of failed) {
      assert.is(f.code, 'STORE_NO_SPACE', f.reason);
      assert.not.ok(commits.some((c) => c.decisionSeq === f.decisionSeq), `the save decided at ${f.decisionSeq} failed and yet was committed`);
    }
    assert.ok(failed.some((f) => /staging/.test(f.reason)), `the trainer's staged write ran out of space: ${failed.map((f) => f.reason).join(' / ')}`);
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as RunFinished;
    assert.is(finished.failedSaves, first.failedSaves);
    // (A position whose save failed may be committed by a later save of it, e.g. the end-of-training one.)
    assert.is(finished.failedSaves, new Set(failed.map((f) => f.epoch).filter((e) => !committedEpochs.includes(e))).size, `one count per position never committed:\n${facts.events.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data).slice(0, 160)}`).join('\n')}`);
    assert.ok(facts.kept.every((k) => k.ok), 'every committed checkpoint verifies');
    assert.equal(stagingDirs(dir), [], 'no staging directory is left');
    await assertNoGarbage(dir);

    rmSync(join(disk, 'filler'));
    // Resume trains on from the newest checkpoint. A failed epoch older than it (its save failed while a later one
    // fitted, e.g. after the failed save's blobs were removed) is not trained again: it stays a failed save, and
    // the resumed run says so with exit 3.
    const resumeFrom = Math.max(...committedEpochs);
    const stranded = [...new Set(failed.map((f) => f.epoch))].filter((e) => e < resumeFrom && !committedEpochs.includes(e)).sort((a, b) => a - b);
    const resumed = await train({ ...base, dir, epochs: undefined, resume: true });
    facts = await ledgerFacts(dir);
    const failedLater = facts.events.filter((e) => e.type === 'SaveFailed').slice(failed.length).map((e) => (e.data as SaveFailed).reason);
    const context = `${resumed.error?.message ?? ''} ${failedLater.join(' / ')}; first session committed ${committedEpochs}, failed ${failed.map((f) => `${f.epoch}:${f.step}`)}`;
    assert.equal(failedLater, [], `the resumed session saves everything: ${context}`);
    assert.is(resumed.exitCode, stranded.length > 0 ? EXIT_SAVES_FAILED : 0, context);
    assert.is(resumed.run, 'run-1', 'the same run continues');
    assert.is(resumed.epoch, 6, 'to the planned end');
    const resume = facts.events.filter((e) => e.type === 'RunResumed').map((e) => e.data as RunResumed);
    assert.is(resume.length, 1);
    assert.is(resume[0].tensors, 'staged');
    assert.is(resume[0].epoch, Math.max(...committedEpochs), 'from its newest verified checkpoint');
    const committedAfter = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => (e.data as { epoch: number }).epoch);
    assert.equal([...new Set(committedAfter)].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6].filter((e) => !stranded.includes(e)), 'every epoch saved in the end, but a stranded one');
    assert.ok(facts.kept.every((k) => k.ok));
    assert.equal(stagingDirs(dir), []);
  } finally {
    execFileSync('umount', [disk]);
    t.cleanup();
  }
});

test.run();
