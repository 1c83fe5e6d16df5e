// Saves decided faster than the store commits them: at most two are pending (one being written, one waiting), and
// a further save asks the trainer for its state only once one of them is committed. Its position is not released
// before that request, so a 'hold' trainer keeps that state (and waits once it holds maxHeld) instead of replied
// states piling up in the supervisor's memory or staged files on its disk. Every decided save still commits, in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointCommitted } from '../src/events.js';
import { RUN, withProcessor } from './fixtures/gated-processor.js';
import { modelState } from './store.fixtures.js';

const until = async (what: string, ok: () => boolean): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

test('given saves decided at epochs 1-4 while none is committed, when the store catches up one by one, then at most two states are asked for at once and each later position is released only after its save was asked', async () => {
  await withProcessor(async ({ processor, driver, events, ledger }) => {
    const fed: Promise<unknown>[] = [];
    for (let epoch = 1; epoch <= 4; epoch++) {
      const [event] = (await ledger.append([{ stream: RUN, type: 'EpochEnded', data: { run: RUN, epoch, step: epoch * 10, metrics: { loss: 1 / epoch } } }])).events;
      fed.push(processor.feed(event));
    }
    await fed[1];
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(driver.asked, 2, 'epochs 1 and 2 asked for; epoch 3 waits for room');
    assert.equal(driver.log.filter((a) => a.kind === 'release').map((a) => a.epoch), [1, 2], 'epoch 3 is still held by the trainer');

    driver.answer(0, modelState(1, 1));
    await until('epoch 3 is asked for', () => driver.asked === 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(driver.asked, 3, 'epoch 4 waits while 2 and 3 are pending');
    driver.answer(1, modelState(2, 2));
    await until('epoch 4 is asked for', () => driver.asked === 4);
    driver.answer(2, modelState(3, 3));
    driver.answer(3, modelState(4, 4));
    await Promise.all(fed);
    await processor.drain();

    // Each position's save request went out before its release, and never more than two requests were unanswered.
    const order = driver.log.map((a) => `${a.kind} ${a.epoch}`);
    for (let epoch = 1; epoch <= 4; epoch++) assert.ok(order.indexOf(`save ${epoch}`) < order.indexOf(`release ${epoch}`), `save before release at epoch ${epoch}: ${order.join(', ')}`);
    const commits = (await events()).filter((e) => e.type === 'CheckpointCommitted').map((e) => (e.data as CheckpointCommitted).epoch);
    assert.equal(commits, [1, 2, 3, 4], 'every save committed, in order');
  });
});

test.run();
