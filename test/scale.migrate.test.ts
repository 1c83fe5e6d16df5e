/**
 * `ckpt migrate --to postgres://… --store s3://…` (the built CLI, real servers): a local directory with a real
 * run is copied — blobs first, then the ledger byte for byte — and then read through the shared ledger with the
 * same answers as locally; a second migrate copies nothing and verifies everything; events added locally later
 * are copied by the next migrate (resumable); a target that is not a copy is refused with LEDGER_CONFLICT.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, openPgLedger } from '../ledger/index.js';
import { spawn } from 'node:child_process';
import { BIN } from './cli.helpers.js';
import { startPostgres } from './fixtures/postgres.js';
import { startS3 } from './fixtures/s3.js';
import { FAKE_TRAINER, tempDir } from './fixtures/run-helpers.js';
import { bundleDriver, runDriver } from './fixtures/run-driver-process.js';

const test = suite('scale: ckpt migrate');
const pgServer = await startPostgres();
const s3 = await startS3(['team']);
const local = tempDir('ckpt-migrate-');
test.before(bundleDriver);
test.after(async () => {
  local.cleanup();
  await s3.stop();
  await pgServer.stop();
});

const target = `${pgServer.url}?schema=team`;

/** The built CLI, run asynchronously: s3rver lives in this process, so a synchronous spawn would starve it. */
function ckpt(args: string[], options: { env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
const env = { ...s3.env };

test('given a local run, when migrated twice, then the first copies everything, the second verifies it, and reads through the shared ledger match', async () => {
  const run = await runDriver({ trainer: FAKE_TRAINER, epochs: 4, seed: 3, batchEvery: 0, policy: 'normal', dir: local.dir, trainerConfig: { batchesPerEpoch: 5, batchMs: 2 } });
  assert.is(run.code, 0);
  const first = await ckpt(['migrate', '--dir', local.dir, '--to', target, '--store', 's3://team/ckpts', '--json'], { env });
  assert.is(first.code, 0, first.stderr);
  const copied = JSON.parse(first.stdout);
  assert.ok(copied.ledger.copied > 10);
  assert.is(copied.ledger.verified, 0);
  assert.ok(copied.blobs.copied > 0);
  const second = JSON.parse((await ckpt(['migrate', '--dir', local.dir, '--to', target, '--store', 's3://team/ckpts', '--json'], { env })).stdout);
  assert.equal(second.ledger, { events: copied.ledger.events, verified: copied.ledger.events, copied: 0 });
  assert.equal(second.blobs, { copied: 0, present: copied.blobs.copied, bytes: 0 });

  const here = JSON.parse((await ckpt(['ls', '--all', '--json', '--dir', local.dir])).stdout);
  const there = JSON.parse((await ckpt(['ls', '--all', '--json', '--ledger', target, '--store', 's3://team/ckpts', '--run', 'run-1', '--dir', '/nonexistent'], { env })).stdout);
  assert.ok(here.length > 0);
  assert.equal(there, here);
});

test('given events added locally after a migrate, when migrated again, then only those are copied; a diverged target is refused', async () => {
  const ledger = await openLedger(`${local.dir}/ledger`);
  const before = ledger.lastSeq;
  await ledger.append([{ stream: 'notes', type: 'Note', data: { text: 'after the first migrate' } }], { durable: true });
  await ledger.close();
  const again = JSON.parse((await ckpt(['migrate', '--dir', local.dir, '--to', target, '--json'], { env })).stdout);
  assert.equal(again.ledger, { events: before + 1, verified: before, copied: 1 });
  const shared = await openPgLedger(pgServer.url, { schema: 'team' });
  const notes = [];
  for await (const event of shared.read({ stream: 'notes' })) notes.push(event.data);
  assert.equal(notes, [{ text: 'after the first migrate' }]);
  await shared.append([{ stream: 'elsewhere', type: 'Note', data: 1 }]);
  await shared.close();
  const refused = await ckpt(['migrate', '--dir', local.dir, '--to', target], { env });
  assert.is(refused.code, 1);
  assert.match(refused.stderr + refused.stdout, /LEDGER_CONFLICT: .* is not a copy of this ledger/);
});

test('given a missing bucket or unknown credentials, when `ckpt train` starts, then it exits 1 with STORE_NOT_FOUND / STORE_CREDENTIALS before training', async () => {
  const dir = tempDir('ckpt-badstore-');
  try {
    const args = ['train', '--dir', dir.dir, '--ledger', target, '--run', 'bad-store', '--trainer', FAKE_TRAINER, '--epochs', '1'];
    const missing = await ckpt([...args, '--store', 's3://no-such-bucket/x'], { env });
    assert.is(missing.code, 1);
    assert.match(missing.stdout + missing.stderr, /STORE_NOT_FOUND: bucket of s3:\/\/no-such-bucket\/x does not exist; create it or fix --store/);
    const wrong = await ckpt([...args, '--store', 's3://team/x'], { env: { ...env, AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1' } });
    assert.is(wrong.code, 1);
    assert.match(wrong.stdout + wrong.stderr, /STORE_CREDENTIALS: the object store rejected the AWS credentials \(InvalidAccessKeyId\)/);
  } finally {
    dir.cleanup();
  }
});

test.run();
