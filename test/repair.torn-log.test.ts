/**
 * A torn write-ahead log (issue 12 item 5): `ckpt train` is SIGKILLed with its whole process group mid-run, so the
 * ledger lives in `ledger/000003.log`; the log is then truncated before the next open, so LevelDB opens the
 * ledger at an earlier point. Opening the workspace detects the commits the store holds beyond the ledger (and the
 * blobs a lost prune removed), refuses with LEDGER_BEHIND_STORE naming `ckpt repair`, deletes nothing, and
 * records the finding; `ckpt repair` brings the checkpoints back and the run resumes to the uninterrupted weights.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, tempDir } from './cli.helpers.js';
import { finishedDigest, json, keptFacts, ledgerFiles, referenceDigest, trainAndKill, trainArgs } from './repair.helpers.js';

const tmp = tempDir('ckpt-torn-');
test.after(() => tmp.remove());

function blobCount(dir: string): number {
  return readdirSync(join(dir, 'objects')).reduce((n, prefix) => n + readdirSync(join(dir, 'objects', prefix)).length, 0);
}

test('given a killed run whose ledger log is truncated, when it is opened, then commands refuse with LEDGER_BEHIND_STORE and repair brings the checkpoints back', async () => {
  const reference = referenceDigest(join(tmp.dir, 'reference'), 8);
  const dir = join(tmp.dir, 'run');
  // Killed after the save decision of epoch 6: ckpt-1..5 committed, the older ones pruned by keepTopK.
  await trainAndKill(trainArgs(dir, 8, 40), /save {2}epoch 6:/);
  const [log] = ledgerFiles(dir, /^\d+\.log$/);
  const size = statSync(log).size;
  assert.ok(size > 4000, `the killed run's events are in its write-ahead log (${size} bytes)`);

  // The truth before the tear: the same directory opened with its whole log (pending prunes finished by verify).
  const whole = join(tmp.dir, 'whole');
  cpSync(dir, whole, { recursive: true });
  assert.is(ckpt(['verify', '--all', '--dir', whole]).code, 0);
  const truth = keptFacts(whole);
  const events = json<{ seq: number }[]>(ckpt(['log', '--json', '--dir', whole])).length;

  truncateSync(log, Math.floor(size * 0.45));
  const blobs = blobCount(dir);
  for (const args of [['verify', '--all'], ['gc'], ['prune', 'latest'], ['tag', 'latest', 'x']]) {
    const res = ckpt([...args, '--dir', dir]);
    assert.is(res.code, 1, `${args[0]}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /^LEDGER_BEHIND_STORE: the ledger is behind its store .* committed checkpoints? in objects\/ \(run-1 epoch \d+/);
    assert.match(res.stderr, /run `npx ckpt repair --dir /);
    assert.is(res.stderr.trim().split('\n').length, 1);
  }
  const resumedTooEarly = ckpt([...trainArgs(dir, 8), '--resume']);
  assert.is(resumedTooEarly.code, 1);
  assert.match(resumedTooEarly.stderr + resumedTooEarly.stdout, /LEDGER_BEHIND_STORE/);
  assert.is(blobCount(dir), blobs, 'gc and prune deleted nothing of the forgotten checkpoints');
  const torn = json<{ seq: number; kind: string }[]>(ckpt(['log', '--json', '--dir', dir]));
  assert.ok(torn.length < events, `the torn ledger opened at an earlier point (${torn.length} < ${events} entries)`);
  assert.is(torn.filter((e) => e.kind === 'fault').length, 1, 'the finding is recorded once, however often it is met');

  const repaired = ckpt(['repair', '--dir', dir]);
  assert.is(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /ledger kept as it was/);
  assert.match(repaired.stdout, /recovered ckpt-\d+: run-1 epoch/);
  // Nothing committed is lost: every checkpoint kept before the tear is kept again, with the same weights.
  const after = keptFacts(dir);
  for (const fact of truth) assert.ok(after.some((a) => a.epoch === fact.epoch && a.weightsDigest === fact.weightsDigest), `epoch ${fact.epoch} is back`);
  const verify = ckpt(['verify', '--all', '--dir', dir]);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);

  const resumed = ckpt([...trainArgs(dir, 8), '--resume']);
  assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.is(finishedDigest(resumed), reference);
});

test.run();
