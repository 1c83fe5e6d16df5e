/**
 * The ledger's mapping of raw LevelDB failures (docs/ledger.md, "Errors"): a truncated table and garbage in
 * LevelDB's MANIFEST reach callers as LedgerError LEDGER_IO / LEDGER_CORRUPT with one line naming the repair
 * command and LevelDB's own code in `details.levelCode` — never LEVEL_IO_ERROR / LEVEL_CORRUPTION.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerError, openLedger } from '../ledger/index.js';

const root = mkdtempSync(join(tmpdir(), 'ckpt-ledger-errors-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A closed ledger of 200 events (flushed to a table file by close). */
async function written(name: string): Promise<string> {
  const dir = join(root, name);
  const ledger = await openLedger(dir);
  await ledger.append(Array.from({ length: 200 }, (_, i) => ({ stream: 's', type: 'T', data: { i, pad: 'x'.repeat(100) } })), { durable: true });
  await ledger.close();
  return dir;
}

async function failure(dir: string): Promise<LedgerError> {
  try {
    const ledger = await openLedger(dir);
    try {
      for await (const _event of ledger.read()) void _event;
    } finally {
      await ledger.close();
    }
  } catch (error) {
    assert.instance(error, LedgerError);
    return error as LedgerError;
  }
  throw new Error('the damaged ledger opened and read');
}

test('given half of the table file truncated, when the ledger is opened and read, then LEDGER_IO names the file and the repair command', async () => {
  const dir = await written('truncated');
  const table = readdirSync(dir).find((name) => name.endsWith('.ldb'))!;
  truncateSync(join(dir, table), Math.floor(statSync(join(dir, table)).size / 2));
  const error = await failure(dir);
  assert.is(error.code, 'LEDGER_IO');
  assert.is(error.details.levelCode, 'LEVEL_IO_ERROR');
  assert.match(error.message, new RegExp(`${table}.*run \`npx ckpt repair\``));
  assert.not.match(error.message, /\n/);
});

test('given 64 bytes of garbage in MANIFEST-*, when the ledger is opened, then LEDGER_CORRUPT names the repair command', async () => {
  const dir = await written('garbage');
  const manifest = readdirSync(dir).find((name) => name.startsWith('MANIFEST-'))!;
  const fd = openSync(join(dir, manifest), 'r+');
  writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 0);
  closeSync(fd);
  const error = await failure(dir);
  assert.is(error.code, 'LEDGER_CORRUPT');
  assert.is(error.details.levelCode, 'LEVEL_CORRUPTION');
  assert.match(error.message, /is damaged \(Corruption: .*run `npx ckpt repair`/);
});

test.run();
