/**
 * Damaged blobs as a user meets them through the real CLI (issue 12 items 7 and 9): a flipped byte in the topology
 * blob that every checkpoint shares, and `ckpt verify` repairing a blob from a backup.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLedger } from '../ledger/index.js';
import type { LedgerEvent } from '../ledger/types.js';
import { openWorkspace } from '../src/workspace.js';
import { ckpt, tempDir } from './cli.helpers.js';
import { meta, modelState } from './store.fixtures.js';

/** Three checkpoints of run-1 (val_loss .5 .3 .4); returns the path of the topology blob they all share. */
async function threeSharingTopology(dir: string): Promise<string> {
  const ws = await openWorkspace(dir, { create: true });
  try {
    for (const [i, val_loss] of [0.5, 0.3, 0.4].entries()) await ws.store.commit(modelState(i + 1, i + 1), meta('run-1', i + 1, { val_loss }));
    const blobs = await Promise.all(['ckpt-1', 'ckpt-2', 'ckpt-3'].map(async (id) => (await ws.store.load(id)).manifest.objects.model.topology!.blob));
    assert.equal(new Set(blobs).size, 1, 'one topology blob shared by all');
    return ws.store.blobs.path(blobs[0]);
  } finally {
    await ws.close();
  }
}

async function flipByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes[bytes.length >> 1] ^= 0x20;
  await writeFile(path, bytes);
}

async function eventsOf(dir: string, types: string[]): Promise<LedgerEvent<any>[]> {
  const ledger = await openLedger(join(dir, 'ledger'));
  const found: LedgerEvent<any>[] = [];
  try {
    for await (const e of ledger.read({ types })) found.push(e);
  } finally {
    await ledger.close();
  }
  return found;
}

test('given one flipped byte in the topology blob every checkpoint shares, when best is asked after verify, then it says they are corrupt and what to do', async () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, 'ws');
    const topology = await threeSharingTopology(dir);
    await flipByte(topology);

    const verify = ckpt(['verify', '--all', '--dir', dir]);
    assert.is(verify.code, 1);
    assert.match(verify.stderr, /^STORE_CORRUPT: ckpt-1 is corrupt, ckpt-2 is corrupt, ckpt-3 is corrupt;/);

    for (const args of [['best'], ['show', 'best'], ['export', 'best', '--format', 'bundle', '--out', join(tmp.dir, 'b.ckpt')], ['latest']]) {
      const res = ckpt([...args, '--dir', dir]);
      assert.is(res.code, 1, args.join(' '));
      assert.match(res.stderr, /^STORE_CORRUPT: every checkpoint "(best|latest)" could mean is damaged \(ckpt-\d corrupt, ckpt-\d corrupt, ckpt-\d corrupt\); run `ckpt verify --all` \(it repairs blobs from verified backups\), or restore the directory's objects\/ from a backup\n$/, args.join(' '));
      assert.not.match(res.stderr, /monitored metric/);
    }
  } finally {
    tmp.remove();
  }
});

test('given a blob flipped on disk and a verified backup, when verify runs, then it prints "repaired from backup", exits 0 and records the corruption and the repair', async () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, 'ws');
    const backup = join(tmp.dir, 'backup');
    const topology = await threeSharingTopology(dir);
    const backed = ckpt(['backup', 'ckpt-2', '--to', backup, '--dir', dir]);
    assert.is(backed.code, 0, backed.stderr);
    await flipByte(topology);

    const verify = ckpt(['verify', 'ckpt-2', '--dir', dir]);
    assert.is(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /ckpt-2\s+repaired from backup/);
    assert.not.match(verify.stdout, /ckpt-2\s+ok/);
    assert.match(verify.stdout, /ckpt-2 repaired from backup/);

    const events = await eventsOf(dir, ['CheckpointCorrupted', 'CheckpointRepaired', 'CheckpointVerified']);
    const mine = events.filter((e) => e.data.checkpoint === 'ckpt-2').map((e) => e.type);
    assert.equal(mine, ['CheckpointCorrupted', 'CheckpointRepaired', 'CheckpointVerified']);
    const repaired = events.find((e) => e.type === 'CheckpointRepaired')!;
    assert.equal([repaired.data.blob, repaired.data.fault, repaired.data.from], [topology.split('/').slice(-2).join(''), 'corrupt', backup]);
    assert.is((await readFile(topology)).equals(await readFile(join(backup, topology.split('/').slice(-3).join('/')))), true, 'the main copy equals the backup again');

    // The shared blob is whole again, so every checkpoint verifies, and the log tells the story.
    const all = ckpt(['verify', '--all', '--dir', dir, '--json']);
    assert.is(all.code, 0, all.stderr);
    assert.equal(JSON.parse(all.stdout).failed, []);
    const log = ckpt(['log', '--kind', 'corrupt,repaired', '--dir', dir]);
    assert.match(log.stdout, /ckpt-2 is corrupt/);
    assert.match(log.stdout, new RegExp(`ckpt-2 repaired from backup ${backup}`));
  } finally {
    tmp.remove();
  }
});

test.run();
