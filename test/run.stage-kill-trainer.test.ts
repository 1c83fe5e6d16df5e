// SIGKILL a stage trainer (capability `stage`, docs/protocol.md "Staged tensors") as soon as the files of a seeded
// save appear in its staging directory, while its worker thread writes them: the supervisor records the crash,
// deletes the dead session's staging directory, restarts the trainer, which resumes from the checkpoint's blob
// files, and the run ends with the uninterrupted weights, every checkpoint verifying and nothing staged left.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunCrashed, RunResumed } from '../src/events.js';
import { train, type TrainOptions } from '../src/run/train.js';
import { openWorkspace } from '../src/workspace.js';
import { ledgerFacts, seeded, tempDir } from './fixtures/run-helpers.js';
import { bundleStageTrainer, digests, MODEL, policyFile, STAGE_TRAINER, stagePhase, stagingDirs, stagingRoot, watchStaging } from './fixtures/stage-helpers.js';

const EPOCHS = 3;
const KILLS = 4;
const options = (dir: string): TrainOptions => ({
  dir, trainer: STAGE_TRAINER, epochs: EPOCHS, seed: 13, policy: policyFile(dir), trainerConfig: MODEL,
  batchEvery: 0, out: null, handleSignals: false, restartBackoffMs: 5, maxRestarts: 2,
});

let baseline: ReturnType<typeof digests> | undefined;

test.before(bundleStageTrainer);

test('given the stage trainer, when it runs uninterrupted, then every epoch is committed staged and the run finishes with its weights', async () => {
  const t = tempDir('ckpt-stage-kill-');
  try {
    const result = await train(options(t.dir));
    assert.is(result.exitCode, 0, result.error?.message);
    const facts = await ledgerFacts(t.dir);
    baseline = digests(facts.events);
    assert.equal([...baseline.byEpoch.keys()], Array.from({ length: EPOCHS }, (_, i) => i + 1));
    assert.is(baseline.final, result.weightsDigest);
    assert.is(new Set(baseline.byEpoch.values()).size, EPOCHS);
    assert.equal(stagingDirs(t.dir), []);
  } finally {
    t.cleanup();
  }
});

test(`given ${KILLS} seeded saves, when the trainer is SIGKILLed as soon as that save's staged files appear, then it is restarted, resumes from the blob files and ends with the uninterrupted weights, leaving nothing staged`, async () => {
  assert.ok(baseline, 'the uninterrupted run above passed');
  const random = seeded(20261203);
  const landed: string[] = [];
  let resumedFromFiles = 0;
  let kills = 0;
  for (let i = 0; kills < KILLS; i++) {
    assert.ok(i < KILLS * 3, `only ${kills} of ${i} seeded kills landed before the trainer was done`);
    const save = 1 + Math.floor(random() * EPOCHS);
    const where = `kill ${i} (save ${save})`;
    const t = tempDir('ckpt-stage-kill-');
    const t0 = Date.now();
    const pids: number[] = [];
    let killed: string | null = null;
    let killedSessionGone: boolean | null = null;
    let first: string | undefined;
    const watcher = watchStaging(t.dir, (session, files) => {
      first ??= session;
      if (session !== first) {
        // The restarted trainer's session: by now the killed one's directory is gone (its files were never replied).
        killedSessionGone = !existsSync(join(stagingRoot(t.dir), first));
        return true;
      }
      if (killed || !files.some((f) => f.name.startsWith(`s${save}-`))) return false;
      process.kill(pids[0], 'SIGKILL');
      killed = `${stagePhase(files, save, MODEL)} (${files.length} files)`;
      return false;
    });
    try {
      const result = await train({ ...options(t.dir), onTrainerSpawn: (pid) => pids.push(pid) });
      watcher.stop();
      assert.ok(killed, `${where}: the trainer was killed while save ${save} was staged`);
      assert.is(result.exitCode, 0, `${where}: ${result.error?.message}`);
      assert.is(result.weightsDigest, baseline!.final, `${where}: the uninterrupted weights`);
      if (result.restarts === 0 && pids.length === 1) {
        // The last save's files were seen only once the trainer had replied and was leaving (this process, the
        // supervisor, was not scheduled meanwhile): the kill hit a trainer that was done. A clean finish; draw again.
        const facts = await ledgerFacts(t.dir);
        assert.is(save, EPOCHS, `${where}: only the last save can be seen that late`);
        assert.is(facts.count('RunCrashed'), 0, where);
        assert.equal(digests(facts.events).byEpoch, baseline!.byEpoch, where);
        assert.equal(stagingDirs(t.dir), [], where);
        landed.push(`${where}: after the trainer was done`);
        continue;
      }
      kills++;
      landed.push(`${where}: ${killed}, ${Date.now() - t0} ms`);
      assert.is(result.restarts, 1, where);
      assert.is(pids.length, 2, `${where}: one trainer restarted`);
      assert.is(result.weightsDigest, baseline!.final, `${where}: the uninterrupted weights`);
      assert.is(killedSessionGone, true, `${where}: the killed trainer's staging directory is deleted before the restarted one starts`);
      const facts = await ledgerFacts(t.dir);
      const crashed = facts.events.filter((e) => e.type === 'RunCrashed').map((e) => e.data as RunCrashed);
      assert.is(crashed.length, 1, where);
      assert.is(crashed[0].signal, 'SIGKILL', where);
      const resumed = facts.events.filter((e) => e.type === 'RunResumed').map((e) => e.data as RunResumed);
      assert.is(resumed.length, 1, where);
      assert.is(resumed[0].tensors, 'staged', `${where}: the restarted trainer stages too`);
      if (resumed[0].fromCheckpoint) resumedFromFiles++;
      // Every checkpoint, before the kill or after the resume, holds the uninterrupted run's weights of its epoch.
      const after = digests(facts.events);
      for (const [epoch, digest] of after.byEpoch) assert.is(digest, baseline!.byEpoch.get(epoch), `${where}: epoch ${epoch}'s checkpoint`);
      assert.equal([...after.byEpoch.keys()].sort(), [...baseline!.byEpoch.keys()], `${where}: every epoch committed in the end`);
      assert.is(after.final, baseline!.final, where);
      assert.ok(facts.kept.length > 0 && facts.kept.every((k) => k.ok), `${where}: every kept checkpoint verifies`);
      assert.equal(stagingDirs(t.dir), [], `${where}: no staging directory is left`);
      const ws = await openWorkspace(t.dir);
      try {
        assert.is((await ws.store.gc({ dryRun: true })).tempsDeleted, 0, `${where}: no temp files for gc`);
      } finally {
        await ws.close();
      }
    } finally {
      watcher.stop();
      t.cleanup();
    }
  }
  if (process.env.DEBUG_RUN) console.log(landed.join('\n'));
  assert.ok(landed.some((l) => l.includes('writing')), `at least one kill landed while the trainer was writing: ${landed.join('; ')}`);
  assert.ok(resumedFromFiles > 0, 'at least one restart resumed from a checkpoint (its tensors read from blob files)');
});

test.run();
