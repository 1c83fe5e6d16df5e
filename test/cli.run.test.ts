/**
 * Every command on a real small training run (mnist-mlp, a few epochs, small data), and the failures with their
 * exact exit codes and error codes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, ckptAsync, tempDir } from './cli.helpers.js';
import { readTar, tarEntry, tarFile } from './cli.tar.js';

const tmp = tempDir('ckpt-cli-run-');
const dir = join(tmp.dir, 'checkpoints');
const SMALL = JSON.stringify({ trainSize: 500, validationSize: 100, testSize: 100 });
let trained: any;

const json = (args: string[], d = dir) => {
  const res = ckpt([...args, '--dir', d, '--json']);
  assert.is(res.code, 0, `ckpt ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return JSON.parse(res.stdout);
};

test.before(() => {
  const res = ckpt(['train', '--dir', dir, '--epochs', '3', '--seed', '7', '--batch-size', '50', '--trainer-config', SMALL, '--json']);
  assert.is(res.code, 0, res.stderr);
  trained = JSON.parse(res.stdout);
});
test.after(() => tmp.remove());

test('given a finished run, when read commands run, then ls, show, history, best, latest and summary describe it consistently', () => {
  assert.is(trained.status, 'finished');
  assert.is(trained.epoch, 3);
  const rows = json(['ls', '--all']);
  assert.ok(rows.length >= 1);
  const history = json(['history']);
  assert.equal(history.map((h: any) => h.epoch), [1, 2, 3]);
  for (const h of history) assert.type(h.metrics.val_loss, 'number');
  const latest = json(['latest']);
  assert.is(latest.epoch, 3);
  assert.is(json(['show', 'latest']).weightsDigest, trained.weightsDigest, 'the last checkpoint holds the final weights');
  const kept = rows.filter((r: any) => r.status === 'kept');
  const bestByHand = kept.reduce((a: any, b: any) => (b.metrics.val_loss < a.metrics.val_loss ? b : a));
  assert.is(json(['best', '--monitor', 'val_loss']).checkpoint.id, bestByHand.id);
  const summary = json(['summary']);
  assert.is(summary.checkpoints.total, rows.length);
  assert.is(summary.runs[0].status, 'finished');
  assert.ok(summary.bytes.physical > 0 && summary.bytes.logical >= summary.bytes.physical * 0.99);
  const why = json(['why', 'latest']);
  assert.ok(why.chain.some((c: any) => c.type === 'CheckpointCommitted'));
});

test('given the run, when ckpt log runs, then every decision recorded in history appears with its reason', () => {
  const log = json(['log', '--kind', 'save,skip']);
  assert.ok(log.length >= 3);
  for (const e of log) assert.ok(e.reason.length > 5 && typeof e.rule === 'string');
  const savedEpochs = json(['history']).filter((h: any) => h.decisions.includes('save')).map((h: any) => h.epoch);
  assert.equal([...new Set(log.filter((e: any) => e.kind === 'save').map((e: any) => e.epoch))], savedEpochs);
});

test('given two checkpoints, when diffed, then tensors differ; a checkpoint against itself has zero distance', () => {
  const d = json(['diff', 'epoch:1', 'latest']);
  assert.ok(d.tensors.length >= 2);
  assert.ok(d.tensors.some((t: any) => t.l2 > 0));
  const same = json(['diff', 'latest', 'latest']);
  assert.is(same.sameWeights, true);
  assert.ok(same.tensors.every((t: any) => t.l2 === 0 && t.maxAbs === 0));
});

test('given checkpoints, when evaluated on the test split, then they are ranked by loss with real metrics', () => {
  const res = json(['eval', 'epoch:1', 'latest', '--split', 'test']);
  assert.is(res.results.length, 2);
  assert.equal(res.results.map((r: any) => r.rank), [1, 2]);
  assert.ok(res.results[0].metrics.loss <= res.results[1].metrics.loss);
  for (const r of res.results) assert.ok(r.metrics.acc > 0 && r.metrics.acc <= 1);
});

test('given a checkpoint, when exported as safetensors and bundle and imported elsewhere, then the weights digest survives', () => {
  const st = json(['export', 'latest', '--format', 'safetensors', '--out', join(tmp.dir, 'model.safetensors')]);
  assert.ok(existsSync(st.path));
  const headerLength = Number(readFileSync(st.path).readBigUInt64LE(0));
  assert.ok(headerLength > 0 && headerLength < 1_000_000);
  json(['export', 'latest', '--format', 'bundle', '--out', join(tmp.dir, 'latest.ckpt')]);
  const other = join(tmp.dir, 'other');
  const imported = json(['import', join(tmp.dir, 'latest.ckpt')], other);
  assert.is(imported.alreadyPresent, false);
  assert.is(json(['show', imported.checkpoint], other).weightsDigest, trained.weightsDigest);
  const backup = json(['backup', 'latest', '--to', join(tmp.dir, 'backup')]);
  assert.ok(backup.blobs > 0);
});

test('given hostile bundles, when imported, then they are refused with STORE_IMPORT_* and nothing is written', () => {
  const before = json(['summary']).lastSeq;
  const real = readTar(readFileSync(join(tmp.dir, 'latest.ckpt')));
  const escape = join(tmp.dir, 'escape.ckpt');
  writeFileSync(escape, tarFile([tarEntry(real[0].path, real[0].body), tarEntry('../../evil.txt', Buffer.from('pwned'))]));
  const a = ckpt(['import', escape, '--dir', dir]);
  assert.is(a.code, 1);
  assert.match(a.stderr, /^STORE_IMPORT_PATH: /);
  const forged = join(tmp.dir, 'forged.ckpt');
  writeFileSync(forged, tarFile(real.map((e, i) => tarEntry(e.path, i === 1 ? Buffer.concat([e.body.subarray(0, e.body.length - 1), Buffer.from([e.body[e.body.length - 1] ^ 1])]) : e.body))));
  const b = ckpt(['import', forged, '--dir', dir]);
  assert.is(b.code, 1);
  assert.match(b.stderr, /^STORE_IMPORT_(HASH|MALFORMED): /);
  assert.is(json(['summary']).lastSeq, before, 'no event appended');
  assert.not.ok(existsSync(join(tmp.dir, 'evil.txt')));
});

test('given pins and tags, when pruning by hand, then pinned is refused, unpinned is pruned with the reason, history survives', () => {
  json(['tag', 'epoch:1', 'first', '--description', 'the very first']);
  json(['pin', 'epoch:1', '--reason', 'audit']);
  const refused = ckpt(['prune', 'epoch:1', '--dir', dir]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^STORE_PINNED: /);
  json(['unpin', 'epoch:1']);
  const id = json(['show', 'epoch:1']).id;
  json(['prune', id, '--reason', 'too early to matter']);
  const row = json(['ls', '--all']).find((r: any) => r.id === id);
  assert.is(row.status, 'pruned');
  assert.equal(row.tags, ['first']);
  assert.not.ok(json(['ls']).some((r: any) => r.id === id));
  const why = json(['why', id]);
  assert.ok(why.summary.some((s: string) => /pruned: too early to matter/.test(s)));
  const gc = json(['gc', '--dry-run']);
  assert.is(gc.dryRun, true);
});

test('given a corrupted blob, when verify runs, then it exits 1 naming the checkpoint and best/latest skip it', () => {
  // epoch 2 has no backup (latest has one, and the store repairs from backups), so its damage must be reported.
  const victim = json(['show', 'epoch:2']);
  const blob = join(dir, 'objects', victim.manifest.slice(0, 2), victim.manifest.slice(2));
  const bytes = readFileSync(blob);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(blob, bytes);
  const res = ckpt(['verify', '--all', '--dir', dir]);
  assert.is(res.code, 1);
  assert.match(res.stderr, new RegExp(`STORE_CORRUPT: ${victim.id} is corrupt`));
  const rows = json(['ls', '--all']);
  const row = rows.find((r: any) => r.id === victim.id);
  assert.is(row.status, 'corrupt');
  assert.equal(row.marks, [], 'a corrupt checkpoint is neither best nor latest');
  assert.is.not(json(['best']).checkpoint.id, victim.id);
  const one = ckpt(['verify', victim.id, '--dir', dir, '--json']);
  assert.is(one.code, 1);
  assert.equal(JSON.parse(one.stdout).failed, [victim.id]);
});

test('given the ledger, when rebuilt, then every projection equals the state before', () => {
  const res = json(['rebuild']);
  assert.is(res.equal, true);
  assert.ok(res.projections.length >= 2);
  assert.is(res.events, json(['summary']).lastSeq);
});

test('given policies, when replayed, then the report compares with what was kept; a bad policy file fails with POLICY_INVALID, a missing one with CLI_USAGE', () => {
  const rep = json(['replay', '--policy', 'short']);
  assert.is(rep.run, trained.run);
  assert.ok(Array.isArray(rep.kept) && Array.isArray(rep.actuallyKept));
  assert.equal(rep.epochs.map((e: any) => e.epoch), [1, 2, 3]);
  const bad = join(tmp.dir, 'bad-policy.json');
  writeFileSync(bad, JSON.stringify({ monitor: 'val_loss', saveEveryBananas: 3 }));
  const res = ckpt(['replay', '--policy', bad, '--dir', dir]);
  assert.is(res.code, 1);
  assert.match(res.stderr, /^POLICY_INVALID: .*bad-policy\.json/);
  const missing = ckpt(['replay', '--policy', join(tmp.dir, 'nope.json'), '--dir', dir]);
  assert.is(missing.code, 2, 'a policy file that does not exist is a usage error');
  assert.match(missing.stderr, /^CLI_USAGE: cannot read policy file .*nope\.json/);
  const train = ckpt(['train', '--dir', join(tmp.dir, 'x'), '--policy', bad]);
  assert.is(train.code, 1);
  assert.match(train.stderr, /POLICY_INVALID/);
  const trainMissing = ckpt(['train', '--dir', join(tmp.dir, 'no-policy'), '--policy', join(tmp.dir, 'nope.json')]);
  assert.is(trainMissing.code, 2);
  assert.match(trainMissing.stderr, /CLI_USAGE: cannot read policy file/);
});

test('given bad flags for train, when parsed, then it exits 2 with CLI_USAGE before doing anything', () => {
  const res = ckpt(['train', '--epochs', 'zero', '--dir', join(tmp.dir, 'y')]);
  assert.is(res.code, 2);
  assert.match(res.stderr, /^CLI_USAGE: .*--epochs must be a positive integer/);
  assert.not.ok(existsSync(join(tmp.dir, 'y')));
});

test('given a directory, when ckpt serve runs, then its API answers what the CLI prints and Ctrl-C stops it cleanly', async () => {
  const expected = json(['summary']);
  const server = ckptAsync(['serve', '--dir', dir, '--port', '0']);
  const deadline = Date.now() + 30_000;
  while (!/at (http:\/\/\S+?)\/? /.test(server.stdout) && Date.now() < deadline && server.child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  const url = /at (http:\/\/\S+?)\/? /.exec(server.stdout)?.[1];
  assert.ok(url, `no URL printed: ${server.stdout} ${server.stderr}`);
  const body = await (await fetch(`${url}/api/summary`)).json();
  assert.equal(body, expected);
  const locked = await ckptAsync(['pin', 'latest', '--dir', dir]).done;
  assert.is(locked.code, 1);
  assert.match(locked.stderr, new RegExp(`^LEDGER_LOCKED: .*process ${server.child.pid}`));
  server.child.kill('SIGINT');
  const done = await server.done;
  assert.is(done.code, 0, done.stderr);
  assert.not.ok(existsSync(join(dir, 'owner.json')), 'owner.json removed on exit');
});

test.run();
