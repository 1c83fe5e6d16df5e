// A small state under the `stage` capability: the TypeScript SDK answers a save whose tensors total fewer than
// `config.stageMinBytes` (default 4 MiB) in the frame (docs/protocol.md, "Staged tensors": a state may mix both
// forms), so a small model pays for no worker thread and no file per tensor. bench:train measured the difference on
// the MNIST MLP: overheadRatio 1.045 staged, 1.008 in frames. (With stageMinBytes 0 this same watch sees the files.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { CheckpointCommitted, RunStarted } from '../src/events.js';
import { train } from '../src/run/train.js';
import { keepLastPolicy, ledgerFacts, lineWatcher, tempDir, testPorts } from './fixtures/run-helpers.js';
import { bundleStageTrainer, filesIn, STAGE_TRAINER, stagingDirs, stagingRoot, watchStaging } from './fixtures/stage-helpers.js';

test.before(bundleStageTrainer);

test('given a stage trainer whose state is 192 KiB, when every epoch saves, then the staging directory is offered but no file is ever staged, and every checkpoint verifies', async () => {
  const t = tempDir('ckpt-stage-small-');
  try {
    // Looked for at every progress line and every millisecond (a file staged and adopted in between can escape
    // both; the stage suites with stageMinBytes 0 show staged saves do stage: run.stage-full-disk, run.stage-refused).
    let filesSeen = 0;
    const look = (): void => {
      for (const session of stagingDirs(t.dir)) filesSeen += filesIn(join(stagingRoot(t.dir), session)).length;
    };
    const out = lineWatcher(look);
    const watcher = watchStaging(t.dir, () => (look(), false));
    const result = await train({
      trainer: STAGE_TRAINER, dir: t.dir, epochs: 3, seed: 3, batchEvery: 0, out, handleSignals: false, maxRestarts: 0,
      trainerConfig: { tensors: 2, floats: 16_384, batchesPerEpoch: 2 }, ports: testPorts(keepLastPolicy(100)),
    });
    watcher.stop();
    assert.is(result.exitCode, 0, result.error?.message);
    const facts = await ledgerFacts(t.dir);
    assert.is((facts.events.find((e) => e.type === 'RunStarted')!.data as RunStarted).tensors, 'staged', 'staging was offered and accepted');
    const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    assert.equal([...new Set(commits.map((c) => c.epoch))], [1, 2, 3]);
    assert.ok(facts.kept.every((k) => k.ok));
    assert.is(filesSeen, 0, 'no staged file at any progress line');
  } finally {
    t.cleanup();
  }
});

test.run();
