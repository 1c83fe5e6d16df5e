// The staged tensor transport (capability `stage`, docs/protocol.md "Staged tensors") with real `ckpt train`
// processes: a stage trainer with 36 MiB of float32 state gives the same weights staged and in frames, leaves
// nothing staged behind, and the supervisor's peak RSS does not grow with the model when it stages. Kills:
// run.stage-kill-trainer.test.ts, run.stage-kill-supervisor.test.ts; bad staged files: store.staged.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { RunStarted } from '../src/events.js';
import { assertNoGarbage, readEvents, tempDir } from './fixtures/run-helpers.js';
import { bundleStageTrainer, ckptChild, digests, MODEL, modelBytes, policyFile, STAGE_TRAINER, stagingDirs } from './fixtures/stage-helpers.js';

const EPOCHS = 3;
const SEED = 13;
const MiB = 2 ** 20;

test.before(bundleStageTrainer);

const trainArgs = (dir: string, policy: string, config: object): string[] => [
  'train', '--dir', dir, '--trainer', STAGE_TRAINER, '--epochs', String(EPOCHS), '--seed', String(SEED), '--policy', policy,
  '--max-restarts', '0', '--trainer-config', JSON.stringify(config),
];

async function assertCleanStore(dir: string, where: string): Promise<void> {
  assert.equal(stagingDirs(dir), [], `${where}: no staging directory is left`);
  const verify = await ckptChild(['verify', '--all', '--dir', dir]);
  assert.is(verify.code, 0, `${where}: ckpt verify --all is clean\n${verify.stdout}${verify.stderr}`);
  await assertNoGarbage(dir, where);
}

test('given the same seed, when one run stages its tensors and one sends them in frames, then every committed epoch and the final weights are identical, nothing staged is left, and the staging supervisor does not hold the model', async () => {
  const t = tempDir('ckpt-stage-');
  const t0 = Date.now();
  try {
    const policy = policyFile(t.dir);
    const stagedDir = join(t.dir, 'staged');
    const framesDir = join(t.dir, 'frames');
    const staged = await ckptChild(trainArgs(stagedDir, policy, MODEL));
    assert.is(staged.code, 0, staged.stdout + staged.stderr);
    const frames = await ckptChild(trainArgs(framesDir, policy, MODEL), { STAGE_FRAMES: '1' });
    assert.is(frames.code, 0, frames.stdout + frames.stderr);

    const stagedEvents = await readEvents(stagedDir);
    const framesEvents = await readEvents(framesDir);
    const tensorsOf = (events: typeof stagedEvents) => (events.find((e) => e.type === 'RunStarted')!.data as RunStarted).tensors;
    assert.is(tensorsOf(stagedEvents), 'staged');
    assert.is(tensorsOf(framesEvents), 'frames');
    const a = digests(stagedEvents);
    const b = digests(framesEvents);
    assert.equal([...a.byEpoch.keys()], Array.from({ length: EPOCHS }, (_, i) => i + 1), 'every epoch committed');
    assert.equal([...a.byEpoch], [...b.byEpoch], 'the same weights at every epoch');
    assert.match(a.final ?? '', /^[0-9a-f]{64}$/);
    assert.is(a.final, b.final, 'the same final weights');
    assert.is(a.final, a.byEpoch.get(EPOCHS), 'the final weights are the last epoch');
    assert.is(new Set(a.byEpoch.values()).size, EPOCHS, 'every epoch changes the weights');
    if (process.env.DEBUG_RUN) console.log(`staged + frames ${Date.now() - t0} ms`);
    await assertCleanStore(stagedDir, 'staged');
    await assertCleanStore(framesDir, 'frames');

    // Peak RSS: a staging supervisor's peak does not grow with the model (twice as big: 72 MiB), while one that
    // takes the same state in frames holds it (the measurement can see a model held in memory).
    const big = { tensors: MODEL.tensors, floats: MODEL.floats * 2 };
    const bigRun = await ckptChild(trainArgs(join(t.dir, 'big'), policy, big));
    assert.is(bigRun.code, 0, bigRun.stdout + bigRun.stderr);
    const grown = bigRun.peakRss - staged.peakRss;
    const peaks = `peak RSS: staged ${(staged.peakRss / MiB).toFixed(0)} MiB, staged twice the model ${(bigRun.peakRss / MiB).toFixed(0)} MiB, frames ${(frames.peakRss / MiB).toFixed(0)} MiB`;
    if (process.env.DEBUG_RUN) console.log(peaks, `${Date.now() - t0} ms`);
    assert.ok(staged.peakRss > 0 && frames.peakRss > 0, peaks);
    assert.ok(frames.peakRss - staged.peakRss > modelBytes(MODEL), `frames hold the ${modelBytes(MODEL) / MiB} MiB state; ${peaks}`);
    assert.ok(grown < (modelBytes(big) - modelBytes(MODEL)) / 2, `staging: the supervisor's peak grew by ${(grown / MiB).toFixed(1)} MiB for ${(modelBytes(big) - modelBytes(MODEL)) / MiB} MiB more model; ${peaks}`);
  } finally {
    t.cleanup();
  }
});

test.run();
