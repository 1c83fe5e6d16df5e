import { ClassicLevel } from 'classic-level';
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LedgerError, OWNER_PID_FILE, openLedger, type Ledger, type Projection } from '../ledger/index.js';
import { bundledChild } from './ledger.children.js';
import { ledgerContract, statsProjection } from './ledger.contract.js';

const root = mkdtempSync(join(tmpdir(), 'ckpt-ledger-level-'));
let dirs = 0;
const freshDir = (): string => join(root, `db-${++dirs}`);

ledgerContract('level', { open: (options) => openLedger(freshDir(), options), cleanup: async () => {} });

const test = suite('ledger on LevelDB');
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Forks test/ledger.lock-child.ts (bundled), which tries to open `dir` and prints the outcome as one JSON line. */
async function forkOpener(dir: string): Promise<Record<string, any>> {
  const path = await bundledChild('lock');
  return new Promise((resolve, reject) => {
    const child = fork(path, [dir], { execArgv: [], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout?.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', () => resolve(JSON.parse(out.trim().split('\n').pop() as string)));
  });
}

const counting = (version: number, calls: { n: number }): Projection<number> => ({
  name: 'count',
  version,
  init: () => 0,
  evolve: (state) => {
    calls.n++;
    return state + 1;
  },
});

async function fill(ledger: Ledger, count: number, batch = 100): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    await ledger.append(Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({ stream: 'run-1', type: 'EpochEnded', data: { epoch: i + j + 1 } })));
  }
}

test('given a closed ledger, when reopened, then every event and lastSeq are back', async () => {
  const dir = freshDir();
  const first = await openLedger(dir);
  await first.append([{ id: 'k', stream: 's', type: 'T', data: { nested: [1, 'two', null, { x: true }] } }], { durable: true });
  await fill(first, 250);
  await first.close();
  const second = await openLedger(dir);
  assert.is(second.lastSeq, 251);
  assert.equal((await second.get('k'))?.data, { nested: [1, 'two', null, { x: true }] });
  const seqs: number[] = [];
  for await (const event of second.read()) seqs.push(event.seq);
  assert.equal(seqs, Array.from({ length: 251 }, (_, i) => i + 1));
  await second.close();
});

test('given 1050 events with snapshotEvery 100, when reopened, then the projection restores from its snapshot and folds only the rest', async () => {
  const dir = freshDir();
  const writer = await openLedger(dir, { projections: [counting(1, { n: 0 })], snapshotEvery: 100 });
  await fill(writer, 1050, 50);
  await writer.close();
  const calls = { n: 0 };
  const reader = await openLedger(dir, { projections: [counting(1, calls)], snapshotEvery: 100 });
  assert.is(reader.state('count'), 1050);
  assert.is(calls.n, 50, 'only the events after the snapshot at seq 1000 are folded');
  assert.is(await reader.rebuild(counting(1, { n: 0 })), 1050);
  await reader.close();
});

test('given a stored snapshot, when the projection version changes, then it is rebuilt from every event and re-snapshotted', async () => {
  const dir = freshDir();
  const writer = await openLedger(dir, { projections: [statsProjection], snapshotEvery: 100 });
  await fill(writer, 420, 60);
  const before = writer.state('stats');
  await writer.close();
  const calls = { n: 0 };
  const changed = await openLedger(dir, { projections: [counting(2, calls), { ...statsProjection, version: 2 }], snapshotEvery: 100 });
  assert.is(changed.state('count'), 420);
  assert.is(calls.n, 420, 'no snapshot for count v2: folded from seq 1');
  assert.equal(changed.state('stats'), before, 'v2 rebuilt from events equals the v1 incremental state');
  await changed.close();
  const again = { n: 0 };
  const reopened = await openLedger(dir, { projections: [counting(2, again)], snapshotEvery: 100 });
  assert.is(reopened.state('count'), 420);
  assert.is(again.n, 0, 'the rebuild stored a snapshot at seq 420');
  await reopened.close();
});

test('given an open ledger, when a forked process opens the same directory, then it gets LEDGER_LOCKED naming our pid', async () => {
  const dir = freshDir();
  const ledger = await openLedger(dir);
  assert.is(readFileSync(join(dir, OWNER_PID_FILE), 'utf8').trim(), String(process.pid));
  const outcome = await forkOpener(dir);
  assert.is(outcome.code, 'LEDGER_LOCKED');
  assert.ok(outcome.message.includes(`pid ${process.pid}`), outcome.message);
  assert.ok(/stop it or read through it/.test(outcome.message), outcome.message);
  assert.not.ok(/\n|at .*\.js/.test(outcome.message), 'one line, no LevelDB trace');
  assert.is(outcome.details.pid, process.pid);
  await ledger.close();
  assert.not.ok(existsSync(join(dir, OWNER_PID_FILE)), 'pid file removed on close');
  assert.equal(await forkOpener(dir), { opened: true });
});

test('given a record overwritten with garbage, when read, then LEDGER_CORRUPT names its seq', async () => {
  const dir = freshDir();
  const ledger = await openLedger(dir);
  await fill(ledger, 10);
  await ledger.close();
  const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.put(Buffer.from([0x65, 0, 0, 0, 0, 0, 0, 0, 7]), Buffer.from([0xc1, 0xff, 0x00]));
  await raw.close();
  const reopened = await openLedger(dir);
  let error: unknown;
  try {
    for await (const _event of reopened.read()) { /* drain */ }
  } catch (e) {
    error = e;
  }
  assert.instance(error, LedgerError);
  assert.is((error as LedgerError).code, 'LEDGER_CORRUPT');
  assert.is((error as LedgerError).details.seq, 7);
  assert.ok((error as LedgerError).message.includes('seq 7'));
  await reopened.close();
});

test('given a record deleted from the middle, when read, then LEDGER_CORRUPT names the missing seq', async () => {
  const dir = freshDir();
  const ledger = await openLedger(dir);
  await fill(ledger, 10);
  await ledger.close();
  const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.del(Buffer.from([0x65, 0, 0, 0, 0, 0, 0, 0, 5]));
  await raw.close();
  const reopened = await openLedger(dir);
  const seen: number[] = [];
  try {
    for await (const event of reopened.read({ batchSize: 3 })) seen.push(event.seq);
    assert.unreachable('read past a missing record');
  } catch (error) {
    assert.instance(error, LedgerError);
    assert.is((error as LedgerError).code, 'LEDGER_CORRUPT');
    assert.is((error as LedgerError).details.seq, 5);
  }
  assert.equal(seen, [1, 2, 3]);
  await reopened.close();
});

test('given a read in progress, when the ledger closes, then the reader gets LEDGER_CLOSED, not a LevelDB error', async () => {
  const ledger = await openLedger(freshDir());
  await fill(ledger, 100);
  let error: unknown;
  let read = 0;
  try {
    for await (const _event of ledger.read({ batchSize: 1 })) {
      if (++read === 2) await ledger.close();
    }
  } catch (e) {
    error = e;
  }
  assert.instance(error, LedgerError);
  assert.is((error as LedgerError).code, 'LEDGER_CLOSED');
  assert.ok(read < 100);
});

test('given a non-empty directory that is not a ledger, when opened, then LEDGER_INVALID and nothing is written into it', async () => {
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  try {
    await openLedger(dir);
    assert.unreachable('opened');
  } catch (error) {
    assert.instance(error, LedgerError);
    assert.is((error as LedgerError).code, 'LEDGER_INVALID');
    assert.ok((error as LedgerError).message.includes('is not a ledger directory'));
  }
  assert.equal(readdirSync(dir), ['notes.txt']);
});

test('given a path that cannot be a directory, when opened, then LEDGER_INVALID says so without a trace', async () => {
  const file = join(root, 'plain-file');
  rmSync(file, { force: true });
  writeFileSync(file, 'x');
  try {
    await openLedger(join(file, 'db'));
    assert.unreachable('opened');
  } catch (error) {
    assert.instance(error, LedgerError);
    assert.is((error as LedgerError).code, 'LEDGER_INVALID');
    assert.ok((error as LedgerError).message.startsWith('cannot open ledger'));
  }
});

test.run();
