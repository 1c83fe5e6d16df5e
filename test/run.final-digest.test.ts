// RunFinished.weightsDigest names the weights the run ended with. A trainer on the SDK sends them in
// `done.weightsDigest`, which the supervisor records as is — unless it restored other weights after the loop
// (restore-best at the end), when it asks the trainer for its state again. When no restore can follow, the
// trainer is let go at `done`, while the last checkpoint commits; otherwise it stays until the run finishes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { train, type TrainOptions } from '../src/run/train.js';
import { defaultPorts } from '../src/run/index.js';
import type { RunStore, TrainPorts } from '../src/run/ports.js';
import { FAKE_TRAINER, ledgerFacts, tempDir } from './fixtures/run-helpers.js';
import { isPidAlive } from '../src/server/owner-file.js';

// Its one weight climbs towards 2 batch after batch and its loss is that weight: epoch 1 is the best.
const TINY = fileURLToPath(new URL('./trainer.tiny-trainer.ts', import.meta.url));
const base: TrainOptions = { trainer: TINY, epochs: 4, seed: 0, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0 };

type Committed = { checkpoint: string; epoch: number; weightsDigest: string };

test('given an SDK trainer and no restore, when the run finishes, then RunFinished has the final weights (those of the last save)', async () => {
  const t = tempDir();
  try {
    const result = await train({ ...base, dir: t.dir, policy: { monitor: 'loss', everyNEpochs: 1, keepLast: 10 } });
    assert.is(result.exitCode, 0);
    const facts = await ledgerFacts(t.dir);
    const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as Committed);
    const last = commits.find((c) => c.epoch === 4)!;
    assert.ok(last, 'epoch 4 was saved');
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as { weightsDigest: string };
    assert.is(finished.weightsDigest, last.weightsDigest);
    assert.is(result.weightsDigest, last.weightsDigest);
    assert.is(new Set(commits.map((c) => c.weightsDigest)).size, commits.length, 'every epoch has other weights');
  } finally {
    t.cleanup();
  }
});

test('given restoreBestAtEnd, when the run finishes, then RunFinished has the restored best weights, not those the loop ended with', async () => {
  const t = tempDir();
  try {
    const result = await train({ ...base, dir: t.dir, policy: { monitor: 'loss', everyNEpochs: 1, keepLast: 10, restoreBestAtEnd: true } });
    assert.is(result.exitCode, 0);
    const facts = await ledgerFacts(t.dir);
    const restore = facts.events.find((e) => e.type === 'RestoreDecided');
    assert.ok(restore, 'a restore of the best checkpoint was decided');
    const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as Committed);
    const best = commits.find((c) => c.checkpoint === (restore!.data as { checkpoint: string }).checkpoint)!;
    assert.is(best.epoch, 1);
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as { weightsDigest: string };
    assert.is(finished.weightsDigest, best.weightsDigest);
    assert.is.not(finished.weightsDigest, commits.find((c) => c.epoch === 4)!.weightsDigest);
  } finally {
    t.cleanup();
  }
});

/** The real ports, with the last epoch's commit held back `ms` (then noting whether the trainer is alive). */
function slowLastCommit(lastEpoch: number, ms: number, trainerPid: () => number, seen: { aliveAtLastCommit?: boolean }): TrainPorts {
  return {
    ...defaultPorts,
    async openWorkspace(dir) {
      const ws = await defaultPorts.openWorkspace(dir);
      const real = ws.store;
      const store: RunStore = {
        ...real,
        commit: async (state, meta) => {
          const committed = await real.commit(state, meta);
          if (meta.epoch === lastEpoch) {
            await new Promise((r) => setTimeout(r, ms));
            seen.aliveAtLastCommit = isPidAlive(trainerPid());
          }
          return committed;
        },
      };
      return { ...ws, store, close: () => ws.close() };
    },
  };
}

test('given a trainer whose done digest is wrong, when its last checkpoint holds the final position, then RunFinished records the checkpoint digest', async () => {
  const t = tempDir();
  process.env.FAKE_DONE_DIGEST = '0'.repeat(64);
  try {
    const result = await train({
      dir: t.dir, trainer: FAKE_TRAINER, epochs: 3, seed: 5, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0,
      policy: { monitor: 'loss', everyNEpochs: 1, keepLast: 5 }, trainerConfig: { batchesPerEpoch: 4, batchMs: 2 },
    });
    assert.is(result.exitCode, 0, result.error?.message);
    const facts = await ledgerFacts(t.dir);
    const last = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as Committed).find((c) => c.epoch === 3);
    assert.ok(last, 'epoch 3 was saved');
    const finished = facts.events.find((e) => e.type === 'RunFinished')!.data as { weightsDigest: string };
    assert.is(finished.weightsDigest, last!.weightsDigest);
    assert.is.not(finished.weightsDigest, '0'.repeat(64));
  } finally {
    delete process.env.FAKE_DONE_DIGEST;
    t.cleanup();
  }
});

for (const restoreBestAtEnd of [false, true]) {
  test(`given restoreBestAtEnd ${restoreBestAtEnd}, when the last commit is slow, then the trainer ${restoreBestAtEnd ? 'stays until the run finishes' : 'has exited before it completes'} and the run finishes with it`, async () => {
    const t = tempDir();
    let pid = 0;
    const seen: { aliveAtLastCommit?: boolean } = {};
    try {
      const result = await train({
        ...base, dir: t.dir, policy: { monitor: 'loss', everyNEpochs: 1, keepLast: 10, restoreBestAtEnd },
        ports: slowLastCommit(4, 1500, () => pid, seen), onTrainerSpawn: (p) => (pid = p),
      });
      assert.is(result.exitCode, 0, result.error?.message);
      assert.is(result.status, 'finished');
      assert.is(seen.aliveAtLastCommit, restoreBestAtEnd, 'trainer alive when the last commit completed');
      const facts = await ledgerFacts(t.dir);
      assert.ok(facts.kept.some((k) => k.ok), 'checkpoints verify');
      const commits = facts.events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as Committed);
      assert.ok(commits.some((c) => c.epoch === 4), 'the last epoch was committed');
      assert.is(facts.count('ProtocolFault'), 0);
      assert.is(facts.count('RunCrashed'), 0);
      assert.is(facts.count('RunFinished'), 1);
    } finally {
      t.cleanup();
    }
  });
}

test.run();
