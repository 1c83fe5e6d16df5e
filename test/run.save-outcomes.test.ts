// Every decided save ends in exactly one outcome the ledger can tell: a checkpoint, or its own SaveFailed. Two
// saves decided at one position (an epoch's save and the end of training's `last` save) share one write; when
// that write fails, both decisions fail. RunFinished.failedSaves counts positions never committed, whatever order
// their SaveFailed and a later save's CheckpointCommitted were appended in (CI saw the commit first). A checkpoint
// carries the metrics reported at its own position, also when its save was decided on catching up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ledger } from '../ledger/types.js';
import { CkptError } from '../src/errors.js';
import type { CheckpointCommitted, SaveFailed } from '../src/events.js';
import type { DecisionProcessor } from '../src/run/decision-processor.js';
import { failedSaves } from '../src/run/run-records.js';
import { RUN, withProcessor } from './fixtures/gated-processor.js';
import { modelState } from './store.fixtures.js';

/** EpochEnded at epoch 3, then TrainingEnded there: the test policy decides a save at each, the second labelled `last`. */
async function endAtEpoch3(ledger: Ledger, processor: DecisionProcessor): Promise<number[]> {
  const position = { run: RUN, epoch: 3, step: 30 };
  const [epoch] = (await ledger.append([{ stream: RUN, type: 'EpochEnded', data: { ...position, metrics: { loss: 0.5 } } }])).events;
  const first = await processor.feed(epoch);
  const [ended] = (await ledger.append([{ stream: RUN, type: 'TrainingEnded', data: { ...position, reason: 'done' } }])).events;
  const second = await processor.feed(ended);
  return [...first, ...second].filter((d) => d.kind === 'save').map((d) => d.seq);
}

test('given two saves decided at one position, when the shared capture fails, then each decision gets its own SaveFailed and the position counts once', async () => {
  await withProcessor(async ({ processor, driver, events, ledger }) => {
    const saves = await endAtEpoch3(ledger, processor);
    assert.is(saves.length, 2);
    assert.is(driver.asked, 1, 'one capture for one position');
    driver.answer(0, new CkptError('STORE_NO_SPACE', 'trainer: staging the state failed: ENOSPC'));
    await processor.drain();
    const all = await events();
    const failed = all.filter((e) => e.type === 'SaveFailed').map((e) => e.data as SaveFailed);
    assert.equal(failed.map((f) => f.decisionSeq), saves, 'both decisions failed, each with its own event');
    assert.ok(failed.every((f) => f.code === 'STORE_NO_SPACE' && f.epoch === 3 && f.step === 30));
    assert.is(all.filter((e) => e.type === 'CheckpointCommitted').length, 0);
    assert.is(await failedSaves(ledger, RUN), 1, 'one position never committed');
  });
});

test('given two saves decided at one position, when the shared capture succeeds, then both name the one checkpoint', async () => {
  await withProcessor(async ({ processor, driver, events, ledger }) => {
    const saves = await endAtEpoch3(ledger, processor);
    driver.answer(0, modelState(1, 3));
    await processor.drain();
    const all = await events();
    const commits = all.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    assert.is(commits.length, 1);
    assert.is(commits[0].decisionSeq, saves[0]);
    assert.is(all.filter((e) => e.type === 'SaveFailed').length, 0);
    assert.is(await failedSaves(ledger, RUN), 0);
  });
});

test('given a save the policy decided while catching up on an epoch an earlier session appended, when it commits, then it carries that epoch\'s metrics, not the newest ones', async () => {
  await withProcessor(async ({ processor, driver, events, ledger }) => {
    // Session 1 appended epoch 3's end and ended before acting on it; session 2's first event is a batch of epoch 4.
    await ledger.append([{ stream: RUN, type: 'EpochEnded', data: { run: RUN, epoch: 3, step: 30, metrics: { loss: 0.5, val_loss: 0.4574 } } }]);
    const [batch] = (await ledger.append([{ stream: RUN, type: 'BatchEnded', data: { run: RUN, epoch: 3, step: 31, metrics: { loss: 0.9 } } }])).events;
    const decided = await processor.feed(batch);
    assert.equal(decided.filter((d) => d.kind === 'save').map((d) => [d.epoch, d.step]), [[3, 30]], 'epoch 3\'s save, decided on catching up');
    driver.answer(0, modelState(1, 3));
    await processor.drain();
    const [commit] = (await events()).filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    assert.equal(commit.metrics, { loss: 0.5, val_loss: 0.4574 });
  });
});

test('given a position whose save failed, when another save of it committed first in the ledger, then it is not a failed save', async () => {
  await withProcessor(async ({ ledger }) => {
    // The order CI recorded: the `last` save (decided after the epoch's save failed, so not joined to it) committed
    // before the epoch's SaveFailed was appended.
    const position = { run: RUN, epoch: 6, step: 12 };
    await ledger.append([{ stream: RUN, type: 'CheckpointCommitted', data: { ...position, checkpoint: 'ckpt-4', decisionSeq: 15 } }]);
    await ledger.append([{ stream: RUN, type: 'SaveFailed', data: { ...position, decisionSeq: 13, code: 'STORE_NO_SPACE', reason: 'ENOSPC' } }]);
    await ledger.append([{ stream: RUN, type: 'SaveFailed', data: { run: RUN, epoch: 5, step: 10, decisionSeq: 11, code: 'STORE_NO_SPACE', reason: 'ENOSPC' } }]);
    assert.is(await failedSaves(ledger, RUN), 1, 'epoch 5 only');
  });
});

test.run();
