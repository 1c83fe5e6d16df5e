// Extending a finished run: `ckpt train --resume --epochs N` continues run-1 from its newest verified
// checkpoint to the new end — same seed, so it ends with the weights of an N-epoch run from the start — and
// `--resume` on a finished run with no more epochs says so and succeeds without training anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { train, type TrainOptions } from '../src/run/train.js';
import { FAKE_TRAINER, ledgerFacts, tempDir } from './fixtures/run-helpers.js';

const options: TrainOptions = {
  trainer: FAKE_TRAINER, seed: 21, batchEvery: 0, out: null, handleSignals: false, policy: { everyNEpochs: 1, keepLast: 10 },
  trainerConfig: { batchesPerEpoch: 8, batchMs: 2 },
};

function collect(): { out: Writable; text: () => string } {
  let text = '';
  return { out: new Writable({ write(chunk, _e, done) { text += String(chunk); done(); } }), text: () => text };
}

test('given a finished 2-epoch run, when resumed with --epochs 4, then run-1 continues to epoch 4 with the weights of a 4-epoch run', async () => {
  const reference = tempDir();
  const t = tempDir();
  try {
    const fourFromStart = await train({ ...options, dir: reference.dir, epochs: 4 });
    assert.is(fourFromStart.exitCode, 0);
    const first = await train({ ...options, dir: t.dir, epochs: 2 });
    assert.is(first.status, 'finished');
    const extended = await train({ ...options, dir: t.dir, epochs: 4, resume: true });
    assert.is(extended.exitCode, 0);
    assert.is(extended.run, 'run-1', 'the same run goes on');
    assert.is(extended.epoch, 4);
    assert.is(extended.weightsDigest, fourFromStart.weightsDigest);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('RunStarted'), 1);
    const resumed = facts.events.find((e) => e.type === 'RunResumed')?.data as { fromCheckpoint: string; epoch: number; epochs?: number };
    assert.equal({ epoch: resumed.epoch, epochs: resumed.epochs }, { epoch: 2, epochs: 4 });
    assert.ok(facts.kept.every((k) => k.ok));
  } finally {
    reference.cleanup();
    t.cleanup();
  }
});

test('given a finished run, when resumed without more epochs, then it says there is nothing to resume and exits 0 without a new run', async () => {
  const t = tempDir();
  try {
    const first = await train({ ...options, dir: t.dir, epochs: 2 });
    const said = collect();
    const again = await train({ ...options, dir: t.dir, epochs: 2, resume: true, out: said.out });
    assert.is(again.exitCode, 0);
    assert.is(again.run, 'run-1');
    assert.is(again.weightsDigest, first.weightsDigest);
    assert.match(said.text(), /nothing to resume: run-1 finished at epoch 2 of 2; pass --epochs N \(more than 2\)/);
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('RunStarted'), 1, 'no second run');
    assert.is(facts.count('RunResumed'), 0);
  } finally {
    t.cleanup();
  }
});

test.run();
