// SIGKILL the supervisor (`ckpt train`, a child process) while a stage trainer's staged files exist — while the
// trainer writes them or while the store adopts them (a seeded delay after the files of a seeded save appear) —
// then `ckpt train --resume` at once in the same directory: the dead supervisor's staging directory is removed,
// the run ends with the uninterrupted weights, every checkpoint verifies and gc finds no temp or staging file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunCrashed, RunResumed } from '../src/events.js';
import { train } from '../src/run/train.js';
import { openWorkspace } from '../src/workspace.js';
import { ledgerFacts, readEvents, seeded, tempDir } from './fixtures/run-helpers.js';
import { bundleStageTrainer, ckptChild, digests, filesIn, MODEL, policyFile, STAGE_TRAINER, stagingDirs, stagingRoot, waitGone, watchStaging } from './fixtures/stage-helpers.js';

const EPOCHS = 3;
const SEED = 21;
const KILLS = 4;

let baseline: ReturnType<typeof digests> | undefined;

test.before(bundleStageTrainer);

test('given the stage trainer, when it runs uninterrupted, then it finishes with its weights', async () => {
  const t = tempDir('ckpt-stage-sv-');
  try {
    const result = await train({ dir: t.dir, trainer: STAGE_TRAINER, epochs: EPOCHS, seed: SEED, policy: policyFile(t.dir), trainerConfig: MODEL, batchEvery: 0, out: null, handleSignals: false });
    assert.is(result.exitCode, 0, result.error?.message);
    baseline = digests((await ledgerFacts(t.dir)).events);
    assert.equal([...baseline.byEpoch.keys()], Array.from({ length: EPOCHS }, (_, i) => i + 1));
    assert.is(baseline.final, result.weightsDigest);
  } finally {
    t.cleanup();
  }
});

/** The save's files at the kill: being written (a prefix of them, the last maybe short) or written / being adopted. */
function phase(files: { name: string; size: number }[], save: number): string {
  const own = files.filter((f) => f.name.startsWith(`s${save}-`)).map((f) => ({ i: Number(f.name.split('-')[1]), size: f.size })).sort((a, b) => a.i - b.i);
  const full = MODEL.floats * 4;
  const prefix = own.every((f, k) => f.i === k);
  if (own.length === 0) return 'adopted';
  if (prefix && (own.length < MODEL.tensors + 1 || own.at(-1)!.size < full) && own.slice(0, -1).every((f) => f.size === full)) return 'writing';
  return 'written';
}

test(`given ${KILLS} seeded points while staged files exist, when the supervisor is SIGKILLed, then ckpt train --resume removes its staging directory and ends with the uninterrupted weights, verify and gc clean`, async () => {
  assert.ok(baseline, 'the uninterrupted run above passed');
  const random = seeded(20261204);
  const landed: string[] = [];
  let kills = 0;
  for (let i = 0; kills < KILLS; i++) {
    assert.ok(i < KILLS * 3, `only ${kills} of ${i} seeded points landed before the run finished`);
    const save = 1 + Math.floor(random() * EPOCHS);
    const delayMs = Math.floor(random() * 300);
    const where = `point ${i} (save ${save} + ${delayMs} ms)`;
    const t = tempDir('ckpt-stage-sv-');
    const dir = join(t.dir, 'ckpt');
    const pidFile = join(t.dir, 'trainer-pids');
    const t0 = Date.now();
    let killedAt = '';
    let watcher: ReturnType<typeof watchStaging> | undefined;
    try {
      const first = await ckptChild(
        ['train', '--dir', dir, '--trainer', STAGE_TRAINER, '--epochs', String(EPOCHS), '--seed', String(SEED), '--policy', policyFile(t.dir), '--max-restarts', '0', '--trainer-config', JSON.stringify(MODEL)],
        { STAGE_PID_FILE: pidFile },
        (child) => {
          watcher = watchStaging(dir, (session, files) => {
            if (!files.some((f) => f.name.startsWith(`s${save}-`))) return false;
            setTimeout(() => {
              killedAt = phase(filesIn(join(stagingRoot(dir), session)), save);
              child.kill('SIGKILL');
            }, delayMs);
            return true;
          });
        },
      );
      watcher?.stop();
      if (first.signal !== 'SIGKILL') {
        assert.is(first.code, 0, `${where}: a run that ended before the kill finished cleanly\n${first.stdout}${first.stderr}`);
        continue;
      }
      kills++;
      const dead = `${first.pid}-1`;
      assert.equal(stagingDirs(dir), [dead], `${where}: the killed supervisor left its staging directory`);
      const trainers = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
      assert.is(trainers.length, 1, where);

      // At once, while the orphaned trainer may still be alive (it leaves when it sees its stdin closed).
      const second = await ckptChild(['train', '--dir', dir, '--resume']);
      assert.is(second.code, 0, `${where}: the resume finishes\n${second.stdout}${second.stderr}`);
      assert.ok(await waitGone(trainers[0], 5000), `${where}: the orphaned trainer ${trainers[0]} exited`);
      assert.not.ok(existsSync(join(stagingRoot(dir), dead)), `${where}: the dead supervisor's staging directory is removed`);
      assert.equal(stagingDirs(dir), [], `${where}: no staging directory is left`);

      const events = await readEvents(dir);
      const after = digests(events);
      assert.is(after.final, baseline!.final, `${where}: the uninterrupted weights`);
      for (const [epoch, digest] of after.byEpoch) assert.is(digest, baseline!.byEpoch.get(epoch), `${where}: epoch ${epoch}'s checkpoint`);
      assert.is(events.filter((e) => e.type === 'RunStarted').length, 1, `${where}: the same run continues`);
      const crash = events.find((e) => e.type === 'RunCrashed');
      assert.is((crash?.data as RunCrashed | undefined)?.code, 'RUN_UNCLEAN_END', `${where}: the crash is recorded`);
      const resumed = events.filter((e) => e.type === 'RunResumed').map((e) => e.data as RunResumed);
      assert.is(resumed.length, 1, where);
      assert.is(resumed[0].tensors, 'staged', `${where}: the resumed trainer stages`);

      // What `ckpt verify --all` and `ckpt gc` do, in this process (each CLI start costs a second on a loaded machine).
      const ws = await openWorkspace(dir);
      try {
        const verified = await ws.store.verify();
        assert.ok(verified.length > 0 && verified.every((r) => r.ok), `${where}: every checkpoint verifies`);
        // The resume removed the dead supervisor's staging directory; a temp file of a write it was killed in (a
        // manifest) is left for gc, which removes it.
        const temps = readdirSync(join(dir, 'tmp')).filter((name) => name !== 'staging');
        const gc = await ws.store.gc();
        assert.is(gc.tempsDeleted, temps.length, `${where}: gc removes only the killed writes' temp files (${temps}), no staging directory`);
        const tmp = readdirSync(join(dir, 'tmp'));
        assert.ok(tmp.every((name) => name === 'staging'), `${where}: tmp/ holds ${tmp}`);
        const again = await ws.store.gc({ dryRun: true });
        assert.equal([again.blobsDeleted, again.tempsDeleted], [0, 0], `${where}: nothing left for gc`);
      } finally {
        await ws.close();
      }
      landed.push(`${where}: ${killedAt}, ${Date.now() - t0} ms`);
    } finally {
      watcher?.stop();
      t.cleanup();
    }
  }
  if (process.env.DEBUG_RUN) console.log(landed.join('\n'));
});

test.run();
