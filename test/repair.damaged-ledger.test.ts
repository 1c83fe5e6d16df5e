/**
 * A damaged LevelDB directory under a real run (issue 12 item 4): half of every `ledger/*.ldb` truncated, or 64
 * bytes of garbage in LevelDB's `MANIFEST-*`. Every command fails with a documented code (LEDGER_IO /
 * LEDGER_CORRUPT) that names `npx ckpt repair`; `ckpt repair` brings back the runs and checkpoints (LevelDB's own
 * RepairDB for the MANIFEST, a ledger rebuilt from the store's manifests for the lost table), keeps the damaged
 * directory, and `ckpt train --resume` then continues to the weights of an uninterrupted run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, openSync, readdirSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, tempDir } from './cli.helpers.js';
import { finishedDigest, json, keptFacts, ledgerFiles, referenceDigest, trainArgs } from './repair.helpers.js';

const tmp = tempDir('ckpt-repair-');
test.after(() => tmp.remove());

let pristine = '';
let reference = '';
let keptBefore: ReturnType<typeof keptFacts> = [];
let logBefore: { seq: number; kind: string }[] = [];

test.before(() => {
  reference = referenceDigest(join(tmp.dir, 'reference'), 6);
  pristine = join(tmp.dir, 'pristine');
  const res = ckpt(trainArgs(pristine, 4));
  assert.is(res.code, 0, res.stderr);
  keptBefore = keptFacts(pristine);
  logBefore = json(ckpt(['log', '--json', '--dir', pristine]));
});

/** Every command that reads or writes the ledger: exit 1, one line, a documented code and the repair command. */
function assertEveryCommandAdvisesRepair(dir: string, code: RegExp): void {
  const reads = [['ls'], ['log'], ['show', 'latest'], ['best'], ['verify', '--all'], ['rebuild'], ['gc', '--dry-run']].map((args) => [...args, '--dir', dir]);
  for (const args of [...reads, [...trainArgs(dir, 6), '--resume']]) {
    const res = ckpt(args);
    assert.is(res.code, 1, `${args[0]}: ${res.stdout} ${res.stderr}`);
    const lines = res.stderr.trim().split('\n');
    assert.is(lines.length, 1, `${args[0]} prints one line: ${res.stderr}`);
    assert.match(lines[0], code, args[0]);
    assert.match(lines[0], /run `npx ckpt repair`/, args[0]);
    assert.not.match(res.stderr, /LEVEL_/, `${args[0]} shows no raw LevelDB code`);
  }
}

test('given half of every ledger/*.ldb truncated, when commands run, then each fails with LEDGER_IO naming ckpt repair; repair rebuilds from the manifests and resume reaches the uninterrupted weights', () => {
  const dir = join(tmp.dir, 'truncated-ldb');
  cpSync(pristine, dir, { recursive: true });
  const tables = ledgerFiles(dir, /\.ldb$/);
  assert.ok(tables.length > 0, 'a closed run leaves its ledger in table files');
  const sizes = tables.map((file) => {
    const half = Math.floor(statSync(file).size / 2);
    truncateSync(file, half);
    return half;
  });
  assertEveryCommandAdvisesRepair(dir, /^LEDGER_(IO|CORRUPT): /);

  const repaired = ckpt(['repair', '--dir', dir]);
  assert.is(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /recovered ckpt-1: run-1 epoch \d+/);
  assert.match(repaired.stdout, /not recovered: .*RunStarted/);
  // The damaged directory is kept, byte for byte.
  const damaged = readdirSync(dir).filter((name) => name.startsWith('ledger.damaged-'));
  assert.is(damaged.length, 1);
  tables.forEach((file, i) => assert.is(statSync(join(dir, damaged[0], file.split('/').at(-1)!)).size, sizes[i]));

  // Every checkpoint that was kept is back, with its run, position and weights; every blob verifies.
  assert.equal(keptFacts(dir), keptBefore);
  const verify = ckpt(['verify', '--all', '--dir', dir]);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);
  const history = json<{ epoch: number }[]>(ckpt(['history', '--json', '--dir', dir]));
  assert.ok(JSON.stringify(history).includes('"epoch":4'), 'the training history comes back from the manifests');
  const recovered = json<{ kind: string; reason: string }[]>(ckpt(['log', '--json', '--dir', dir])).find((e) => e.kind === 'repair');
  assert.ok(recovered, 'a LedgerRecovered event is in the trail');
  assert.match(recovered!.reason, /not recovered: .*decisions/);

  const resumed = ckpt(trainArgs(dir, 6).concat('--resume'));
  assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /resumed from ckpt-\d+ \(epoch 4, step 12\)/);
  assert.is(finishedDigest(resumed), reference);
});

test('given 64 bytes of garbage in MANIFEST-*, when commands run, then each fails with LEDGER_CORRUPT naming ckpt repair; LevelDB repair keeps every event', () => {
  const dir = join(tmp.dir, 'garbage-manifest');
  cpSync(pristine, dir, { recursive: true });
  const [manifest] = ledgerFiles(dir, /^MANIFEST-\d+$/);
  const fd = openSync(manifest, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xa7), 0, 64, 0);
  closeSync(fd);
  assertEveryCommandAdvisesRepair(dir, /^LEDGER_CORRUPT: /);

  const repaired = ckpt(['repair', '--dir', dir, '--json']);
  assert.is(repaired.code, 0, repaired.stderr);
  const report = json(repaired);
  assert.is(report.recovered.method, 'leveldb');
  assert.is(report.recovered.keptEvents, logBefore.at(-1)!.seq);
  assert.ok(existsSync(report.recovered.damaged), 'the damaged directory is kept');
  // Nothing was lost: the same trail (plus the repair's own event) and the same checkpoint ids.
  const logAfter = json<{ seq: number; kind: string }[]>(ckpt(['log', '--json', '--dir', dir]));
  assert.equal(logAfter.slice(0, logBefore.length).map((e) => [e.seq, e.kind]), logBefore.map((e) => [e.seq, e.kind]));
  assert.equal(keptFacts(dir), keptBefore);
  const resumed = ckpt(trainArgs(dir, 6).concat('--resume'));
  assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.is(finishedDigest(resumed), reference);
});

test('given a healthy directory, when repair runs, then it changes nothing and says so', () => {
  const before = json(ckpt(['log', '--json', '--dir', pristine]));
  const res = ckpt(['repair', '--dir', pristine]);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /nothing to repair/);
  assert.equal(json(ckpt(['log', '--json', '--dir', pristine])), before);
  assert.not.ok(readdirSync(pristine).some((name) => name.startsWith('ledger.')), 'no copies left behind');
});

test.run();
