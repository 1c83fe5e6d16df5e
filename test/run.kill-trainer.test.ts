// SIGKILL the trainer at 20 seeded points of a 5-epoch run: the supervisor records the crash, restarts the
// trainer from the newest verified checkpoint, and ends with weights bit-identical to an uninterrupted run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train, type TrainOptions } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, seeded, tempDir } from './fixtures/run-helpers.js';

const KILL_POINTS = 20;
const base: TrainOptions = {
  trainer: FAKE_TRAINER, epochs: 5, seed: 11, batchEvery: 0, out: null, handleSignals: false,
  policy: 'normal', trainerConfig: { batchesPerEpoch: 10, batchMs: 4 }, restartBackoffMs: 5, maxRestarts: 3,
};

let baseline = { digest: '' };

test('given an uninterrupted 5-epoch run, when it finishes, then it records RunFinished with a weightsDigest', async () => {
  const t = tempDir();
  try {
    const result = await train({ ...base, dir: t.dir });
    assert.is(result.exitCode, 0);
    assert.is(result.epoch, 5);
    const facts = await ledgerFacts(t.dir);
    baseline = { digest: result.weightsDigest ?? '' };
    assert.match(baseline.digest, /^[0-9a-f]{64}$/);
    assert.is(facts.count('RunFinished'), 1);
    assert.is(facts.count('EpochEnded'), 5);
    assert.is(facts.count('RunCrashed'), 0);
    assert.ok(facts.kept.length > 0 && facts.kept.every((k) => k.ok));
  } finally {
    t.cleanup();
  }
});

/** Seeded kill points over the whole run: after a batch, right after an epoch_end, or on a save request. */
function killPoints(count: number, seed: number): string[] {
  const random = seeded(seed);
  const points: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.5) points.push(`step:${1 + Math.floor(random() * 50)}`);
    else if (r < 0.75) points.push(`epoch:${1 + Math.floor(random() * 5)}`);
    // One save request per epoch (policy normal); the final weights need none (the last checkpoint's digest).
    else points.push(`save:${1 + Math.floor(random() * 5)}`);
  }
  return points;
}

test(`given ${KILL_POINTS} seeded kill points, when the trainer is SIGKILLed at each, then every resumed run ends with the uninterrupted weights`, async () => {
  for (const [i, point] of killPoints(KILL_POINTS, 20261122).entries()) {
    const t = tempDir();
    process.env.FAKE_KILL_AT = point;
    process.env.FAKE_ONCE = `${t.dir}/killed-once`;
    try {
      const t0 = Date.now();
      const result = await train({ ...base, dir: t.dir, timeouts: { stateMs: 5000 } });
      const facts = await ledgerFacts(t.dir);
      const where = `kill point ${i} (${point})`;
      if (process.env.DEBUG_RUN) console.log(where, Date.now() - t0, 'ms');
      if (process.env.DEBUG_RUN && facts.count('RunResumed') !== 1) console.log(facts.events.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data).slice(0, 200)}`).join('\n'));
      assert.is(result.exitCode, 0, where);
      assert.is(result.weightsDigest, baseline.digest, where);
      assert.is(result.restarts, 1, `${where}: one restart`);
      assert.is(facts.count('RunCrashed'), 1, where);
      assert.is(facts.count('RunResumed'), 1, where);
      const crashed = facts.events.find((e) => e.type === 'RunCrashed')!;
      assert.is((crashed.data as { signal: string | null }).signal, 'SIGKILL', where);
      const resumed = facts.events.find((e) => e.type === 'RunResumed')!;
      assert.ok(resumed.seq > crashed.seq, `${where}: resume after crash`);
      assert.ok(facts.kept.length > 0, where);
      assert.ok(facts.kept.every((k) => k.ok), `${where}: every kept checkpoint verifies`);
      const finished = facts.events.filter((e) => e.type === 'RunFinished');
      assert.is(finished.length, 1, where);
      assert.is((finished[0].data as { weightsDigest: string }).weightsDigest, baseline.digest, where);
    } finally {
      delete process.env.FAKE_KILL_AT;
      delete process.env.FAKE_ONCE;
      t.cleanup();
    }
  }
});

test.run();
