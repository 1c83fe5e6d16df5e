import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Rng } from '../trainers/lib/rng.js';
import { killAllTrainers, startTrainer } from './trainer.client.js';

const tiny = fileURLToPath(new URL('./trainer.tiny-trainer.ts', import.meta.url));
const python = fileURLToPath(new URL('../trainers/python/logistic_regression.py', import.meta.url));

/** Random input for a trainer's stdin: raw bytes, or a small plausible length prefix followed by random bytes. */
function randomInput(rng: Rng, i: number): Buffer {
  const body = Buffer.from(Uint8Array.from({ length: 1 + rng.int(40) }, () => rng.int(256)));
  if (i % 2 === 0) return body;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Send `input`, then close stdin; the trainer must end cleanly: a PROTOCOL_* error and exit 2, or exit 0. */
async function fuzzOnce(trainer: string, input: Buffer): Promise<'rejected' | 'ignored'> {
  const t = startTrainer(trainer);
  await t.next('hello');
  t.child.stdin!.write(input);
  t.child.stdin!.end();
  const { code, signal } = await t.exited;
  assert.is(signal, null, 'no crash by signal');
  assert.is(t.fault, undefined, 'stdout stayed well-framed');
  const errors = t.messages.filter((m) => m.type === 'error') as Array<{ code: string }>;
  if (code === 2) {
    assert.is(errors.length, 1);
    assert.match(errors[0].code, /^PROTOCOL_(MALFORMED|UNKNOWN_TYPE|FRAME_TOO_LARGE|TRUNCATED)$/);
    return 'rejected';
  }
  assert.is(code, 0, `exit code ${code}; stderr: ${t.stderr.join('').slice(-500)}`);
  return 'ignored';
}

test('given 12 seeded random inputs, when fed to the Python SDK, then each ends in a PROTOCOL_* error + exit 2 or a clean exit 0', async () => {
  const rng = Rng.fromSeed(5150);
  const outcomes = [];
  for (let i = 0; i < 12; i++) outcomes.push(await fuzzOnce(python, randomInput(rng, i)));
  assert.ok(outcomes.includes('rejected'));
});

test('given 4 seeded random inputs, when fed to the TypeScript SDK, then each ends in a PROTOCOL_* error + exit 2 or a clean exit 0', async () => {
  const rng = Rng.fromSeed(5151);
  const outcomes = [];
  for (let i = 0; i < 4; i++) outcomes.push(await fuzzOnce(tiny, randomInput(rng, i)));
  assert.ok(outcomes.includes('rejected'));
});

test('given the tiny SDK trainer, when trained 3 epochs or 1 + resume 2, then the final weight bytes are equal', async () => {
  const run = async (epochs: number, state?: unknown) => {
    const t = startTrainer(tiny);
    await t.next('hello');
    t.send({ type: 'start', config: { epochs, batchSize: 1 }, seed: 3, ...(state ? { state: state as never } : {}) });
    const done = await t.next('done');
    t.send({ type: 'save', requestId: 's' });
    const reply = await t.next('state');
    t.send({ type: 'exit' });
    await t.exited;
    return { done, state: reply.state };
  };
  const whole = await run(3);
  const first = await run(1);
  const rest = await run(3, first.state);
  assert.is(rest.done.step, 12);
  assert.is(rest.done.weightsDigest, whole.done.weightsDigest);
  assert.is.not(first.done.weightsDigest, whole.done.weightsDigest);
});

test('given the tiny SDK trainer mid-training, when save then exit arrive, then it answers the save and exits 0 before finishing', async () => {
  const t = startTrainer(tiny);
  await t.next('hello');
  t.send({ type: 'start', config: { epochs: 10_000_000, batchSize: 1 }, seed: 3 });
  await t.next('epoch_end', (m) => m.epoch === 2);
  t.send({ type: 'save', requestId: 'last' });
  t.send({ type: 'exit' });
  const reply = await t.next('state', (m) => m.requestId === 'last');
  assert.ok(reply.state.trainer.epoch >= 2);
  assert.is((await t.exited).code, 0);
  assert.ok(!t.messages.some((m) => m.type === 'done'));
});

test.after(() => killAllTrainers());

test.run();
