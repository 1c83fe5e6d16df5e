// A staged reply the supervisor refuses (capability `stage`): a stage trainer answers epoch 2's save with the
// state of another step. The save fails (SaveFailed PROTOCOL_WRONG_STATE; nothing else committed in its place),
// and the files it staged are deleted at once (gone when its failure is recorded), not left in the staging
// directory until the session ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { CheckpointCommitted, SaveFailed } from '../src/events.js';
import { EXIT_SAVES_FAILED, train } from '../src/run/train.js';
import { keepLastPolicy, ledgerFacts, lineWatcher, tempDir, testPorts } from './fixtures/run-helpers.js';
import { bundleStageTrainer, filesIn, STAGE_TRAINER, stagingDirs, stagingRoot } from './fixtures/stage-helpers.js';

test.before(bundleStageTrainer);

test('given a stage trainer that answers epoch 2\'s save with another step\'s state, when the supervisor refuses it, then SaveFailed PROTOCOL_WRONG_STATE, epochs 1 and 3 committed, and its staged files are gone before the run ends', async () => {
  const t = tempDir('ckpt-stage-refused-');
  process.env.STAGE_WRONG_AT_EPOCH = '2';
  try {
    // The staging directory's files when each progress line is printed.
    const seen: { line: string; files: string[] }[] = [];
    const out = lineWatcher((line) => {
      const files = stagingDirs(t.dir).flatMap((session) => filesIn(join(stagingRoot(t.dir), session)).map((f) => f.name));
      seen.push({ line, files });
    });
    const result = await train({
      trainer: STAGE_TRAINER, dir: t.dir, epochs: 3, seed: 3, batchEvery: 0, out, handleSignals: false, maxRestarts: 0,
      trainerConfig: { tensors: 2, floats: 16_384, batchesPerEpoch: 2, stageMinBytes: 0 }, ports: testPorts(keepLastPolicy(100)),
    });
    assert.is(result.exitCode, EXIT_SAVES_FAILED, result.error?.message);
    const facts = await ledgerFacts(t.dir);
    const failed = facts.events.filter((e) => e.type === 'SaveFailed').map((e) => e.data as SaveFailed);
    assert.equal(failed.map((f) => [f.epoch, f.code]), [[2, 'PROTOCOL_WRONG_STATE']], failed.map((f) => f.reason).join(' / '));
    const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    assert.equal([...new Set(commits.map((c) => c.epoch))], [1, 3]);
    assert.ok(facts.kept.every((k) => k.ok));
    const refused = seen.find((s) => /save of epoch 2, step 4 failed: PROTOCOL_WRONG_STATE/.test(s.line));
    assert.ok(refused, `a warn line for epoch 2's failed save:\n${seen.map((s) => s.line).join('\n')}`);
    assert.equal(refused.files.filter((f) => f.startsWith('s2-')), [], 'the refused reply\'s staged files were deleted by the time its failure was recorded');
    assert.equal(stagingDirs(t.dir), []);
  } finally {
    delete process.env.STAGE_WRONG_AT_EPOCH;
    t.cleanup();
  }
});

test.run();
