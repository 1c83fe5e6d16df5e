/**
 * The 'hold' capability (docs/protocol.md, "Hold and release"): a trainer keeps the state of every position it
 * reports until `release`, waits at `maxHeld`, and answers `save {epoch, step}` with exactly that state; the
 * supervisor's StateRequests sends `release` only to a 'hold' trainer and accepts only the asked position's state.
 * Real trainer processes on both SDKs (the tiny TypeScript trainer, the Python logistic regression).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import type { CheckpointState } from '../src/checkpoint.js';
import type { SupervisorMessage, TrainerMessage } from '../src/protocol/messages.js';
import { StateRequests } from '../src/run/state-requests.js';
import { validateTrainerMessage } from '../src/run/validate-message.js';
import { HeldStates } from '../src/sdk/held-states.js';
import { killAllTrainers, startTrainer } from './trainer.client.js';

const TINY = fileURLToPath(new URL('./trainer.tiny-trainer.ts', import.meta.url));
const PYTHON = fileURLToPath(new URL('../trainers/python/logistic_regression.py', import.meta.url));
test.after(() => killAllTrainers());

const stateAt = (epoch: number, step: number): CheckpointState => ({ objects: { model: { weights: [] } }, trainer: { epoch, step }, history: [] });

test('given held states, when released at a position, then every state at or before it goes (by epoch, then step) and the rest stay', () => {
  const held = new HeldStates({ hold: true, maxHeld: 3, keep: 4 });
  held.add({ epoch: 1, step: 10 }, 'epoch', stateAt(1, 10));
  held.add({ epoch: 2, step: 14 }, 'batch', stateAt(1, 14));
  assert.is(held.full, false);
  held.add({ epoch: 2, step: 20 }, 'epoch', stateAt(2, 20));
  assert.is(held.full, true);
  held.release({ epoch: 2, step: 14 });
  assert.is(held.size, 1);
  assert.is(held.get({ epoch: 2, step: 20 })!.trainer.step, 20);
  assert.match(held.whyGone(), /held: 2\/20; the supervisor released it/);
});

test('given a trainer without hold, when more epoch ends than keepEpochStates arrive, then the oldest go, batch states are not kept and it is never full', () => {
  const held = new HeldStates({ hold: false, maxHeld: 1, keep: 2 });
  for (const e of [1, 2, 3]) held.add({ epoch: e, step: e * 10 }, 'epoch', stateAt(e, e * 10));
  held.add({ epoch: 4, step: 35 }, 'batch', stateAt(3, 35));
  assert.equal([held.ofEpoch(1), held.ofEpoch(2)?.trainer.epoch, held.ofEpoch(3)?.trainer.epoch], [undefined, 2, 3]);
  assert.is(held.full, false);
  assert.match(held.whyGone(), /without 'hold' this trainer keeps only its last 2 epoch ends/);
});

function fakeTrainer() {
  const sent: SupervisorMessage[] = [];
  const requests = new StateRequests({ send: (m) => sent.push(m) }, 5000);
  const reply = (m: TrainerMessage) => requests.offer(m);
  return { sent, requests, reply };
}

test('given StateRequests, when the trainer has no hold, then release sends nothing; with hold, release is sent once per new position', () => {
  const plain = fakeTrainer();
  plain.reply(validateTrainerMessage({ type: 'hello', protocol: 1, trainer: 'old', version: '1', backend: 'cpu', capabilities: ['save'] }));
  plain.requests.release({ epoch: 1, step: 10 });
  assert.equal(plain.sent, []);
  const holding = fakeTrainer();
  holding.reply(validateTrainerMessage({ type: 'hello', protocol: 1, trainer: 'new', version: '1', backend: 'cpu', capabilities: ['save', 'hold'] }));
  holding.requests.release({ epoch: 1, step: 10 });
  holding.requests.release({ epoch: 1, step: 10 });
  holding.requests.release({ epoch: 2, step: 20 });
  assert.equal(holding.sent, [{ type: 'release', epoch: 1, step: 10 }, { type: 'release', epoch: 2, step: 20 }]);
});

test('given a position request, when the trainer answers with another position, STATE_GONE, or the batch position\'s state, then it rejects, rejects with the trainer\'s code, and resolves', async () => {
  const t = fakeTrainer();
  const wrong = t.requests.request({ epoch: 1, step: 10 });
  const first = t.sent[0] as { requestId: string; epoch: number; step: number };
  assert.equal([first.epoch, first.step], [1, 10]);
  t.reply({ type: 'state', requestId: first.requestId, state: stateAt(12, 120) });
  const error = await wrong.catch((e) => e);
  assert.is(error.code, 'PROTOCOL_WRONG_STATE');
  assert.match(error.message, /save for epoch 1, step 10 with the state of epoch 12, step 120/);
  const gone = t.requests.request({ epoch: 2, step: 20 });
  t.reply({ type: 'error', code: 'PROTOCOL_STATE_GONE', message: 'save failed: the state of epoch 2, step 20 is no longer held (held: none)', requestId: (t.sent[1] as { requestId: string }).requestId });
  const goneError = await gone.catch((e) => e);
  assert.is(goneError.code, 'PROTOCOL_STATE_GONE');
  assert.is(goneError.message, 'trainer: the state of epoch 2, step 20 is no longer held (held: none)');
  const batch = t.requests.request({ epoch: 3, step: 25 }); // batch_end of epoch 3: 2 epochs completed
  t.reply({ type: 'state', requestId: (t.sent[2] as { requestId: string }).requestId, state: stateAt(2, 25) });
  assert.equal((await batch).state.trainer, { epoch: 2, step: 25 });
});

test('given hello frames, when validated, then capabilities default to [] and a bad capabilities or batchesPerEpoch is PROTOCOL_BAD_MESSAGE', () => {
  const hello = { type: 'hello', protocol: 1, trainer: 't', version: '1', backend: 'cpu' };
  assert.equal((validateTrainerMessage({ ...hello }) as { capabilities: string[] }).capabilities, []);
  assert.is((validateTrainerMessage({ ...hello, batchesPerEpoch: 94 }) as { batchesPerEpoch?: number }).batchesPerEpoch, 94);
  for (const bad of [{ capabilities: 'hold' }, { capabilities: [1] }, { batchesPerEpoch: 0 }, { batchesPerEpoch: 2.5 }]) {
    assert.throws(() => validateTrainerMessage({ ...hello, ...bad }), (e: { code?: string }) => e.code === 'PROTOCOL_BAD_MESSAGE');
  }
});

type EpochEnd = Extract<TrainerMessage, { type: 'epoch_end' }>;
/** Epoch `e`'s epoch_end, whether it arrived already or is still to come. */
function epochEnd(t: ReturnType<typeof startTrainer>, e: number): Promise<EpochEnd> {
  const arrived = t.messages.find((m) => m.type === 'epoch_end' && m.epoch === e) as EpochEnd | undefined;
  return arrived ? Promise.resolve(arrived) : t.next('epoch_end', (m) => m.epoch === e);
}

for (const [sdk, trainer, epochEnds] of [['TypeScript', TINY, 4], ['Python', PYTHON, 8]] as const) {
  test(`given a ${sdk} SDK trainer with maxHeld 2, when nobody releases, then it stops after 2 reported positions; each release lets it go one further and released states are gone`, async () => {
    const t = startTrainer(trainer);
    const hello = await t.next('hello');
    assert.ok(hello.capabilities.includes('hold'));
    t.send({ type: 'start', config: { epochs: epochEnds, batchSize: 32, batchEvery: 0, maxHeld: 2 }, seed: 5 });
    const e1 = await epochEnd(t, 1);
    const e2 = await epochEnd(t, 2);
    // Waiting: a save is still answered (commands run while it waits), but no third epoch comes.
    t.send({ type: 'save', requestId: 's1', epoch: 1, step: e1.step });
    const s1 = await t.next('state', (m) => m.requestId === 's1');
    assert.equal([s1.state.trainer.epoch, s1.state.trainer.step], [1, e1.step]);
    await new Promise((r) => setTimeout(r, 300));
    assert.is(t.messages.filter((m) => m.type === 'epoch_end').length, 2, 'no epoch past maxHeld without a release');
    t.send({ type: 'release', epoch: 1, step: e1.step });
    const e3 = await epochEnd(t, 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.is(t.messages.filter((m) => m.type === 'epoch_end').length, 3, 'one release, one more epoch');
    t.send({ type: 'save', requestId: 'gone', epoch: 1, step: e1.step });
    assert.is((await t.next('error', (m) => m.requestId === 'gone')).code, 'PROTOCOL_STATE_GONE');
    t.send({ type: 'save', requestId: 's2', epoch: 2, step: e2.step });
    assert.equal((await t.next('state', (m) => m.requestId === 's2')).state.trainer.step, e2.step);
    // The last epoch end fits under maxHeld, so `done` may follow it at once: wait for it from here on.
    const done = t.next('done');
    t.send({ type: 'release', epoch: e3.epoch, step: e3.step });
    for (let e = 4; e <= epochEnds; e++) {
      const end = await epochEnd(t, e);
      t.send({ type: 'release', epoch: end.epoch, step: end.step });
    }
    assert.is((await done).epoch, epochEnds);
    t.send({ type: 'exit' });
    assert.is((await t.exited).code, 0);
  });
}

test.run();
