// Decisions beyond save/prune, end to end. Early stopping: the policy decides stop + restore-best, the supervisor
// sends `stop`, the trainer ends with done {reason: stopped}, the best checkpoint is loaded and sent as
// `restore`, and the run finishes with exactly the best checkpoint's weights. Backup: each new best is copied
// to the backup target and verified there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, tempDir } from './fixtures/run-helpers.js';

test('given early stopping with restoreBestWeights, when val_loss stops improving, then the run stops and ends with the best weights', async () => {
  const t = tempDir();
  try {
    // The fake trainer's val_loss is loss * (1 + 0.3 sin(epoch)): it worsens at epochs where sin rises, so
    // patience 1 stops the run well before 30 epochs.
    const policy = { monitor: 'val_loss', everyNEpochs: 1, keepTopK: 3, earlyStopping: { patience: 1, restoreBestWeights: true } };
    const result = await train({
      dir: t.dir, trainer: FAKE_TRAINER, epochs: 30, seed: 2, policy, batchEvery: 0, out: null, handleSignals: false,
      trainerConfig: { batchesPerEpoch: 5, batchMs: 15 }, // slow enough that the stop arrives long before epoch 30
    });
    assert.is(result.exitCode, 0);
    assert.ok(result.epoch < 30, `stopped early (at epoch ${result.epoch})`);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('StopDecided'), 1);
    const ended = facts.events.find((e) => e.type === 'TrainingEnded')!.data as { reason: string };
    assert.is(ended.reason, 'early-stop');
    const restore = facts.events.find((e) => e.type === 'RestoreDecided');
    assert.ok(restore, 'a restore of the best checkpoint was decided');
    const target = (restore!.data as { checkpoint: string }).checkpoint;
    const committed = facts.events.find((e) => e.type === 'CheckpointCommitted' && (e.data as { checkpoint: string }).checkpoint === target)!;
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as { weightsDigest: string };
    assert.is(finished.weightsDigest, (committed.data as { weightsDigest: string }).weightsDigest, 'final weights are the best checkpoint\'s');
    assert.is(result.weightsDigest, finished.weightsDigest);
    // The best epoch is the one with the lowest val_loss among EpochEnded events.
    const epochs = facts.events.filter((e) => e.type === 'EpochEnded').map((e) => e.data as { epoch: number; metrics: { val_loss: number } });
    const best = epochs.reduce((a, b) => (b.metrics.val_loss < a.metrics.val_loss ? b : a));
    assert.is((committed.data as { epoch: number }).epoch, best.epoch);
  } finally {
    t.cleanup();
  }
});

test('given a backup-on-best policy, when val_loss improves, then every new best is backed up and verified before the run ends', async () => {
  const t = tempDir();
  const target = tempDir('ckpt-run-backup-');
  try {
    const policy = { monitor: 'val_loss', everyNEpochs: 1, keepTopK: 2, backup: { target: target.dir, onBest: true } };
    const result = await train({
      dir: t.dir, trainer: FAKE_TRAINER, epochs: 4, seed: 2, policy, batchEvery: 0, out: null, handleSignals: false,
      trainerConfig: { batchesPerEpoch: 5, batchMs: 5 },
    });
    assert.is(result.exitCode, 0);
    const facts = await ledgerFacts(t.dir);
    const intended = facts.events.filter((e) => e.type === 'BackupIntended');
    const verified = facts.events.filter((e) => e.type === 'BackupVerified').map((e) => e.data as { checkpoint: string; target: string });
    assert.ok(intended.length >= 1);
    assert.is(verified.length, intended.length);
    for (const v of verified) assert.is(v.target, target.dir);
    const finished = facts.events.find((e) => e.type === 'RunFinished')!;
    assert.ok(facts.events.filter((e) => e.type === 'BackupVerified').every((e) => e.seq < finished.seq));
  } finally {
    t.cleanup();
    target.cleanup();
  }
});

test.run();
