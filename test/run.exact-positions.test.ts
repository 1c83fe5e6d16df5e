/**
 * Every checkpoint holds exactly the state of the position it is recorded under (issue 11). A one-parameter
 * trainer with ~1 ms epochs on each SDK (TypeScript, Python) logs the digest of its own state at every epoch
 * end; real `ckpt train` processes save every epoch of 50, and each checkpoint's epoch, step and weightsDigest
 * must be the trainer's own at that epoch. A trainer without 'hold' that has dropped the decided states gets
 * recorded failed saves instead of another epoch's state.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LedgerEvent } from '../ledger/types.js';
import type { CheckpointCommitted, Decision } from '../src/events.js';
import { ckpt, tempDir } from './cli.helpers.js';
import { readEvents } from './fixtures/run-helpers.js';

const TS_TRAINER = fileURLToPath(new URL('./fixtures/exact-trainer.ts', import.meta.url));
const PY_TRAINER = fileURLToPath(new URL('./fixtures/exact_trainer.py', import.meta.url));
const EPOCHS = 50;

interface Run { code: number; events: LedgerEvent[]; digests: Map<number, { step: number; digest: string }>; commits: CheckpointCommitted[]; stdout: string; stderr: string }

/** `ckpt train` the fixture for 50 epochs with every-epoch saves; the ledger's facts afterwards. */
async function train(trainer: string, env: Record<string, string> = {}): Promise<Run> {
  const tmp = tempDir('ckpt-exact-');
  try {
    const policy = join(tmp.dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ everyNEpochs: 1, keepLast: 100, saveLast: false }));
    const dir = join(tmp.dir, 'ckpt');
    const res = ckpt(['train', '--dir', dir, '--trainer', trainer, '--epochs', String(EPOCHS), '--policy', policy, '--max-restarts', '0'], { env });
    const events = await readEvents(dir);
    const digests = new Map<number, { step: number; digest: string }>();
    for (const e of events) {
      const m = e.type === 'TrainerLog' ? /^digest (\d+) (\d+) ([0-9a-f]{64})$/.exec((e.data as { line: string }).line) : null;
      if (m) digests.set(Number(m[1]), { step: Number(m[2]), digest: m[3] });
    }
    const commits = events.filter((e) => e.type === 'CheckpointCommitted').map((e) => e.data as CheckpointCommitted);
    return { code: res.code, events, digests, commits, stdout: res.stdout, stderr: res.stderr };
  } finally {
    tmp.remove();
  }
}

/** Each commit is the state of its own decision's position: the trainer's epoch, step and digest there. */
function assertExact(run: Run): void {
  const decisions = new Map(run.events.filter((e) => e.type === 'SaveDecided').map((e) => [e.seq, e.data as Decision]));
  for (const c of run.commits) {
    const own = run.digests.get(c.epoch);
    assert.ok(own, `the trainer reported epoch ${c.epoch}`);
    assert.equal([c.epoch, c.step, c.weightsDigest], [c.epoch, own!.step, own!.digest], `${c.checkpoint} holds epoch ${c.epoch}'s state`);
    const decided = decisions.get(c.decisionSeq!);
    assert.equal([decided?.epoch, decided?.step], [c.epoch, c.step], `${c.checkpoint} is recorded under the position its save was decided at`);
  }
}

for (const [sdk, trainer] of [['TypeScript', TS_TRAINER], ['Python', PY_TRAINER]] as const) {
  test(`given a ${sdk} SDK trainer with ~1 ms epochs, when 50 epochs are saved every epoch, then checkpoint N holds exactly epoch N's state`, async () => {
    const run = await train(trainer);
    assert.is(run.code, 0, run.stderr + run.stdout.slice(-2000));
    assert.is(run.digests.size, EPOCHS);
    assert.equal(run.commits.map((c) => c.epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1));
    assertExact(run);
    const failures = run.events.filter((e) => e.type === 'SaveFailed' || (e.type === 'PolicyWarning' && (e.data as Decision).rule === 'save'));
    assert.is(failures.length, 0);
  });
}

test('given a trainer without hold that reads commands only after training, when 50 epochs are saved every epoch, then the dropped epochs are recorded as failed saves (PROTOCOL_STATE_GONE) and no checkpoint holds another epoch', async () => {
  const run = await train(TS_TRAINER, { EXACT_NO_HOLD: '1' });
  // It keeps its last 4 epoch ends (keepEpochStates): those four commit, exactly.
  assert.equal(run.commits.map((c) => c.epoch), [47, 48, 49, 50]);
  assertExact(run);
  // Each of the other 46 decided saves is a recorded failure naming the reason: a SaveFailed event each (the
  // processor also records a save warning beside it, which the last assertion reads).
  const failed = run.events.flatMap((e) => e.type === 'SaveFailed'
    ? [{ seq: (e.data as { decisionSeq: number }).decisionSeq, text: `${(e.data as { code: string }).code} ${(e.data as { reason: string }).reason}` }]
    : []);
  assert.is(failed.length, EPOCHS - 4);
  for (const f of failed) assert.match(f.text, /PROTOCOL_STATE_GONE/);
  const saveSeqs = run.events.filter((e) => e.type === 'SaveDecided' && (e.data as Decision).epoch! <= EPOCHS - 4).map((e) => e.seq);
  assert.equal(failed.map((f) => f.seq).sort((a, b) => a - b), saveSeqs);
  assert.match(run.events.filter((e) => e.type === 'PolicyWarning' || e.type === 'SaveFailed').map((e) => JSON.stringify(e.data)).join('\n'), /without 'hold' this trainer keeps only its last 4 epoch ends/);
});

test.run();
