/**
 * Many hosts, one PostgreSQL ledger, one bucket: supervisors (train() in separate processes, each with its own
 * scratch directory, standing in for hosts) train concurrently; one is SIGKILLed mid-run, and once its lease
 * expires another "host" resumes it. Every run ends with the weights of its uninterrupted reference run. Then
 * PostgreSQL is restarted under a running supervisor: appends wait for it, the run finishes with its reference
 * weights. Trainer: the fast fake trainer of the run tests.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openPgLedger, type Ledger } from '../ledger/index.js';
import { startPostgres } from './fixtures/postgres.js';
import { startS3, startS3Process } from './fixtures/s3.js';
import { FAKE_TRAINER, tempDir } from './fixtures/run-helpers.js';
import { bundleDriver, killDrivers, runDriver, type DriverRun } from './fixtures/run-driver-process.js';
import { Teardown } from './fixtures/teardown.js';

const test = suite('scale: many hosts, one ledger, one bucket');
const pgServer = await startPostgres();
const s3 = await startS3(['team']);
const dirs: { cleanup(): void }[] = [];
// A case that fails leaves no supervisor, ledger handle or store process behind: the suite ends with the failure.
const teardown = new Teardown();
const openLedger = async (): Promise<Ledger> => teardown.close(await openPgLedger(pgServer.url));
test.before(bundleDriver);
test.after.each(async () => {
  killDrivers();
  await teardown.run();
});
test.after(async () => {
  for (const dir of dirs) dir.cleanup();
  await s3.stop();
  await pgServer.stop();
});

const options = (seed: number) => ({
  trainer: FAKE_TRAINER, epochs: 5, seed, batchEvery: 0, policy: 'normal', restartBackoffMs: 5,
  trainerConfig: { batchesPerEpoch: 10, batchMs: 6 },
});
const scratch = (): string => {
  const t = tempDir('ckpt-host-');
  dirs.push(t);
  return t.dir;
};
const SHARED = { CKPT_LEDGER_URL: pgServer.url, CKPT_STORE_URL: 's3://team/checkpoints', CKPT_LEASE_MS: '1500', ...s3.env };

/** Runs the driver with the shared ledger and bucket configured in its environment (as a host's would be). */
async function onHost(extra: Record<string, unknown>, kill?: { line: number; delayMs: number }, env: Record<string, string> = {}): Promise<DriverRun> {
  const saved = { ...process.env };
  Object.assign(process.env, SHARED, env);
  try {
    return await runDriver({ ...extra, dir: scratch() }, kill);
  } finally {
    process.env = saved;
  }
}

const seeds = { 'run-a': 21, 'run-b': 22, 'run-c': 23 } as const;
const reference: Record<string, string> = {};

test('given each run trained alone on local storage, then each has a reference digest', async () => {
  for (const [run, seed] of Object.entries(seeds)) {
    const result = await runDriver({ ...options(seed), dir: scratch() });
    assert.is(result.code, 0, result.lines.join('\n'));
    reference[run] = result.result?.weightsDigest as string;
    assert.match(reference[run], /^[0-9a-f]{64}$/);
  }
});

test('given three hosts training concurrently, when one is SIGKILLed, then after its lease expires another host resumes it and every run ends with its reference weights', async () => {
  // A dashboard's view: one ledger handle in this process tailing every host's events (LISTEN/NOTIFY).
  const dashboard = await openLedger();
  const tailed: { seq: number; stream: string; type: string }[] = [];
  const subscription = dashboard.tail(1).subscribe((item) => item.kind === 'event' && tailed.push({ seq: item.event.seq, stream: item.event.stream, type: item.event.type }));
  teardown.defer(() => subscription.unsubscribe());
  const [a, b, c] = await Promise.all([
    onHost({ ...options(seeds['run-a']), run: 'run-a' }),
    onHost({ ...options(seeds['run-b']), run: 'run-b' }, { line: 3, delayMs: 10 }),
    onHost({ ...options(seeds['run-c']), run: 'run-c' }),
  ]);
  assert.is(a.code, 0, a.lines.join('\n'));
  assert.is(c.code, 0, c.lines.join('\n'));
  assert.is(b.signal, 'SIGKILL', 'run-b was killed mid-run');
  // Another host takes run-b over: refused while the dead holder's lease lives, then it resumes.
  const attempts: DriverRun[] = [];
  for (let i = 0; i < 40; i++) {
    const attempt = await onHost({ ...options(seeds['run-b']), run: 'run-b', resume: true });
    attempts.push(attempt);
    if (attempt.code === 0) break;
    // Refused with the code and the holder named (the CLI prints result.error as `CODE: message`).
    const refusal = (attempt.result as { error?: { code: string; message: string } } | undefined)?.error;
    assert.is(refusal?.code, 'LEDGER_LOCKED', `exit ${attempt.code}: ${JSON.stringify(attempt.result)} ${attempt.lines.join('\n')}`);
    assert.match(refusal!.message, /^run-b is owned by .* \(pid \d+\)/);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const resumed = attempts[attempts.length - 1];
  assert.is(resumed.code, 0, resumed.lines.join('\n'));
  assert.is(a.result?.weightsDigest, reference['run-a']);
  assert.is(c.result?.weightsDigest, reference['run-c']);
  assert.is(resumed.result?.weightsDigest, reference['run-b']);

  // One ledger holds every host's story: each run finished once; run-b crashed once and resumed.
  const ledger = await openLedger();
  const ledgerEnd = ledger.lastSeq;
  const types: Record<string, string[]> = {};
  for await (const event of ledger.read({ types: ['RunStarted', 'RunCrashed', 'RunResumed', 'RunFinished'] })) (types[event.stream] ??= []).push(event.type);
  await ledger.close();
  assert.equal(types['run-a'], ['RunStarted', 'RunFinished']);
  assert.equal(types['run-c'], ['RunStarted', 'RunFinished']);
  assert.equal(types['run-b'].filter((t) => t === 'RunFinished'), ['RunFinished']);
  assert.ok(types['run-b'].includes('RunCrashed'));
  const deadline = Date.now() + 10_000;
  while (dashboard.lastSeq < ledgerEnd && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  subscription.unsubscribe();
  await dashboard.close();
  assert.equal(tailed.map((e) => e.seq), Array.from({ length: ledgerEnd }, (_, i) => i + 1), 'the tail saw every event of every host once, in order');
  for (const run of ['run-a', 'run-b', 'run-c']) assert.ok(tailed.some((e) => e.stream === run && e.type === 'RunFinished'), run);
});

test('given a running supervisor, when PostgreSQL restarts mid-run, then its appends wait for the server and the run ends with its reference weights', async () => {
  // The trainer waits after epoch 1 until the gate file exists, so the restart comes mid-run however fast the run
  // is; the lease outlives any restart (no other host wants run-d; losing it would end the run, not test appends).
  const gate = join(scratch(), 'gate');
  let settled = false;
  const running = onHost({ ...options(seeds['run-a']), run: 'run-d', trainerConfig: { batchesPerEpoch: 10, batchMs: 60, gate } }, undefined, { CKPT_LEASE_MS: '120000' })
    .finally(() => (settled = true));
  // Restart once the run has trained an epoch (read from the shared ledger, as any dashboard would).
  const watcher = await openLedger();
  for (let epochs = 0; epochs === 0 && !settled; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    epochs = 0;
    for await (const _ of watcher.read({ stream: 'run-d', types: ['EpochEnded'] })) epochs++;
  }
  await watcher.close();
  assert.not.ok(settled, 'the run waits at its gate after epoch 1');
  pgServer.halt();
  // Training goes on while the server is down: the next epoch's appends find no server and wait for it.
  writeFileSync(gate, '');
  pgServer.resume();
  const result = await running;
  assert.is(result.code, 0, result.lines.join('\n'));
  assert.is(result.result?.weightsDigest, reference['run-a']);
});

test('given a running supervisor, when the object store goes away mid-run, then each failed save is recorded, training finishes with its reference weights and the run ends with exit 3 (failed saves)', async () => {
  const outside = await startS3Process(['gone']);
  teardown.defer(() => outside.stop());
  const saved = { ...process.env };
  Object.assign(process.env, SHARED, outside.env, { CKPT_STORE_URL: 's3://gone/checkpoints' });
  // The trainer waits after epoch 1 until the gate file exists: the store goes away once epoch 1 is committed and
  // before any later save, however fast the run is.
  const gate = join(scratch(), 'gate');
  let settled = false;
  const running = runDriver({ ...options(seeds['run-c']), run: 'run-e', dir: scratch(), trainerConfig: { batchesPerEpoch: 10, batchMs: 40, gate } }).finally(() => (settled = true));
  process.env = saved;
  const watcher = await openLedger();
  for (let commits = 0; commits === 0 && !settled; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    for await (const _ of watcher.read({ stream: 'run-e', types: ['CheckpointCommitted'] })) commits++;
  }
  await watcher.close();
  await outside.stop();
  assert.not.ok(settled, 'the run waits at its gate after epoch 1');
  writeFileSync(gate, '');
  const result = await running;
  // A handle opened now reads everything the finished run stored.
  const ledger = await openLedger();
  const warnings: string[] = [];
  for await (const event of ledger.read({ stream: 'run-e', types: ['SaveFailed'] })) warnings.push(JSON.stringify(event.data));
  await ledger.close();
  // Training went on to the end; the saves that failed make it exit 3, as a full local disk does (docs/cli.md).
  assert.is(result.result?.exitCode, 3, result.lines.join('\n'));
  assert.ok(result.lines.some((l) => /decided save\(s\) failed/.test(l)), result.lines.join('\n'));
  assert.is(result.result?.weightsDigest, reference['run-c']);
  assert.ok(warnings.length > 0, 'a failed save is recorded');
  assert.match(warnings[0], /"code":"STORE_(UNREACHABLE|IO)"/);
});

test.run();
