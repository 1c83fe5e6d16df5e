// Protocol fuzz through fake trainers: random bytes, truncated frames, huge length prefixes, wrong types, bad
// fields, a missing hello, an exit without done. Each ends in a clear PROTOCOL_* fault recorded in the ledger,
// the run is recorded as crashed, and checkpoints committed before the fault stay intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom, toArray } from 'rxjs';
import { encodeFrame } from '../src/protocol/frames.js';
import { train, type TrainOptions } from '../src/run/train.js';
import { TrainerProcess } from '../src/run/trainer-process.js';
import { FAKE_TRAINER, ledgerFacts, tempDir, testPorts } from './fixtures/run-helpers.js';

const base: TrainOptions = {
  trainer: FAKE_TRAINER, epochs: 4, seed: 3, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0,
  trainerConfig: { batchesPerEpoch: 6, batchMs: 3 }, restartBackoffMs: 5, timeouts: { helloMs: 3000 },
};

async function runWithFault(fault: string, env: Record<string, string> = {}, extra: Partial<TrainOptions> = {}) {
  const t = tempDir();
  // The fault comes once the trainer answered epoch 1's save: the checkpoint before it exists however slowly a
  // loaded machine lets the supervisor ask for it.
  Object.assign(process.env, { FAKE_FAULT: fault, FAKE_FAULT_EPOCH: '2', FAKE_FAULT_AFTER_SAVE: '1', ...env });
  try {
    const result = await train({ ...base, dir: t.dir, ports: testPorts(), ...extra });
    const facts = await ledgerFacts(t.dir);
    const faults = facts.events.filter((e) => e.type === 'ProtocolFault').map((e) => e.data as { code: string; message: string });
    return { result, facts, faults };
  } finally {
    for (const key of ['FAKE_FAULT', 'FAKE_FAULT_EPOCH', 'FAKE_FAULT_AFTER_SAVE', ...Object.keys(env)]) delete process.env[key];
    t.cleanup();
  }
}

const CASES: [fault: string, code: string][] = [
  ['truncated', 'PROTOCOL_TRUNCATED'],
  ['huge-length', 'PROTOCOL_FRAME_TOO_LARGE'],
  ['wrong-type', 'PROTOCOL_UNKNOWN_TYPE'],
  ['not-a-map', 'PROTOCOL_MALFORMED'],
  ['bad-fields', 'PROTOCOL_BAD_MESSAGE'],
  ['exit-without-done', 'PROTOCOL_EXIT_WITHOUT_DONE'],
];

for (const [fault, code] of CASES) {
  test(`given a trainer that sends ${fault} at epoch 2, when supervised, then ${code} is recorded and epoch 1's checkpoint stays intact`, async () => {
    const { result, facts, faults } = await runWithFault(fault);
    assert.is(result.exitCode, 1);
    assert.is(result.status, 'failed');
    assert.is(result.error?.code, code);
    assert.is(faults.length, 1);
    assert.is(faults[0].code, code);
    assert.ok(faults[0].message.length > 10, 'the fault says what went wrong');
    const crash = facts.events.find((e) => e.type === 'RunCrashed')!.data as { code: string };
    assert.is(crash.code, code);
    assert.ok(facts.committed.length >= 1, 'the epoch-1 checkpoint was committed before the fault');
    assert.ok(facts.kept.length >= 1 && facts.kept.every((k) => k.ok), 'committed checkpoints verify');
    assert.is(facts.count('RunFinished'), 0);
  });
}

test('given a good frame and a bad one in a single write, when the trainer process reads them, then the good message comes out before the fault', async () => {
  const bytes = Buffer.concat([
    encodeFrame({ type: 'hello', protocol: 1, trainer: 'one-write', version: '0', backend: 'none', capabilities: [] }),
    encodeFrame({ type: 'launch_missiles' }),
  ]);
  const trainer = TrainerProcess.spawn({ command: process.execPath, args: ['-e', 'process.stdout.write(Buffer.from(process.argv[1], "hex"))', bytes.toString('hex')] });
  const items = await lastValueFrom(trainer.output$.pipe(toArray()));
  assert.equal(items.map((item) => item.kind === 'message' ? item.message.type : item.kind === 'fault' ? item.error.code : item.kind), ['hello', 'PROTOCOL_UNKNOWN_TYPE', 'exit']);
});

test('given a trainer that never says hello, when supervised, then PROTOCOL_NO_HELLO is recorded', async () => {
  const { result, faults } = await runWithFault('no-hello');
  assert.is(result.exitCode, 1);
  assert.is(faults[0]?.code, 'PROTOCOL_NO_HELLO');
});

test('given 12 seeded streams of random bytes, when a trainer writes them and dies, then each ends in a PROTOCOL_* fault with nothing lost', async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const { result, facts, faults } = await runWithFault('fuzz', { FAKE_FUZZ_SEED: String(seed) });
    assert.is(result.exitCode, 1, `seed ${seed}`);
    assert.ok(faults.length >= 1, `seed ${seed}: a fault is recorded`);
    assert.match(faults[0].code, /^PROTOCOL_[A-Z_]+$/, `seed ${seed}`);
    assert.ok(facts.kept.every((k) => k.ok), `seed ${seed}: committed checkpoints verify`);
    assert.is(facts.count('RunCrashed'), 1, `seed ${seed}`);
  }
});

test('given a protocol fault once and maxRestarts 1, when supervised, then the run resumes and ends with the clean run\'s weights', async () => {
  const t = tempDir();
  let clean: string | null;
  try {
    clean = (await train({ ...base, dir: t.dir, ports: testPorts() })).weightsDigest;
  } finally {
    t.cleanup();
  }
  const once = tempDir();
  try {
    const { result, facts, faults } = await runWithFault('wrong-type', { FAKE_ONCE: `${once.dir}/faulted` }, { maxRestarts: 1 });
    assert.is(result.exitCode, 0);
    assert.is(result.restarts, 1);
    assert.is(faults[0].code, 'PROTOCOL_UNKNOWN_TYPE');
    assert.is(facts.count('RunResumed'), 1);
    assert.match(clean ?? '', /^[0-9a-f]{64}$/);
    assert.is(result.weightsDigest, clean);
  } finally {
    once.cleanup();
  }
});

test.run();
