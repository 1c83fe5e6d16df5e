import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../ledger/index.js';
import { startOwnerServer } from '../src/server/owner-server.js';
import { ckpt, ckptAsync, sampleHistory, tempDir } from './cli.helpers.js';

const tmp = tempDir();
const dir = join(tmp.dir, 'checkpoints');

test.before(async () => {
  const ledger = await openLedger(join(dir, 'ledger'));
  await ledger.append(sampleHistory(), { durable: true });
  await ledger.close();
});
test.after(() => tmp.remove());

const json = (args: string[]) => {
  const res = ckpt([...args, '--dir', dir, '--json']);
  assert.is(res.code, 0, `${args.join(' ')} failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
};

test('given a recorded history, when ckpt ls runs, then it lists kept checkpoints with marks and --all adds the pruned one', () => {
  const rows = json(['ls']);
  assert.equal(rows.map((r: any) => r.id), ['ckpt-2', 'ckpt-3', 'ckpt-4']);
  assert.equal(rows.find((r: any) => r.id === 'ckpt-3').marks, ['best:val_loss']);
  const all = json(['ls', '--all']);
  assert.equal(all.map((r: any) => r.status), ['pruned', 'kept', 'kept', 'kept']);
  const human = ckpt(['ls', '--dir', dir]);
  assert.is(human.code, 0);
  assert.match(human.stdout, /ckpt-3\s+run-1\s+4\s+400\s+0\.3000/);
  assert.match(human.stdout, /400 kB/);
  assert.match(human.stdout, /★ best:val_loss/);
  assert.not.match(human.stdout, /\x1b\[/, 'no colour when stdout is not a TTY');
});

test('given refs, when ckpt show runs, then the JSON has the promised fields', () => {
  const shown = json(['show', 'best']);
  for (const key of ['id', 'run', 'epoch', 'step', 'metrics', 'weightsDigest', 'status', 'bytes', 'tags']) assert.ok(key in shown, `missing ${key}`);
  assert.is(shown.id, 'ckpt-3');
  assert.is(shown.metrics.val_loss, 0.3);
  assert.equal(json(['show', 'epoch:2']).tags, ['baseline']);
  assert.is(json(['show', 'run-1/latest']).id, 'ckpt-3');
});

test('given the best checkpoint, when ckpt why runs, then it explains the save and what it beat', () => {
  const why = json(['why', 'best']);
  assert.equal(why.chain.map((c: any) => c.type).slice(0, 3), ['EpochEnded', 'SaveDecided', 'CheckpointCommitted']);
  const human = ckpt(['why', 'ckpt-1', '--dir', dir]);
  assert.is(human.code, 0);
  assert.match(human.stdout, /it was pruned: ckpt-1 left the top 2 by val_loss/);
  assert.match(human.stdout, /PruneIntended/);
});

test('given the history, when ckpt log runs, then every decision appears in order with reason and numbers', () => {
  const entries = json(['log', '--kind', 'save,skip,prune']);
  assert.equal(entries.map((e: any) => e.kind), ['save', 'save', 'skip', 'save', 'prune', 'skip', 'save']);
  assert.is(entries[2].reason, 'val_loss did not improve from 0.4000');
  assert.is(entries[2].value, 0.45);
  assert.is(entries[2].previous, 0.4);
  const run2 = json(['log', '--run', 'run-2']);
  assert.ok(run2.every((e: any) => e.run === 'run-2' || e.checkpoint === 'ckpt-4'));
  const human = ckpt(['log', '--dir', dir]);
  assert.match(human.stdout, /saveBestOnly\s+val_loss improved from 0\.4000 to 0\.3000/);
  assert.match(human.stdout, /run crashed \(signal SIGKILL\)/);
});

test('given the history, when best, latest, history and summary run, then they agree', () => {
  assert.is(json(['best']).checkpoint.id, 'ckpt-3');
  assert.is(json(['best', '--monitor', 'val_acc']).checkpoint.id, 'ckpt-4');
  assert.is(json(['latest']).id, 'ckpt-4');
  const history = json(['history', '--run', 'run-1']);
  assert.equal(history.map((h: any) => h.epoch), [1, 2, 3, 4, 5]);
  assert.equal(history.map((h: any) => h.checkpoint), ['ckpt-1', 'ckpt-2', null, 'ckpt-3', null]);
  const summary = json(['summary']);
  assert.equal(summary.checkpoints.kept, 3);
  assert.is(summary.crashes, 1);
  assert.is(summary.resumes, 1);
  assert.is(summary.bytes.physical, 850_000);
  const human = ckpt(['summary', '--dir', dir]);
  assert.match(human.stdout, /1\.20 MB logical, 850 kB physical, dedupe 1\.41x/);
});

test('given a missing directory, when a read command that needs a checkpoint runs, then it exits 1 with STORE_NOT_FOUND in one line', () => {
  const res = ckpt(['show', 'best', '--dir', join(tmp.dir, 'nope')]);
  assert.is(res.code, 1);
  assert.match(res.stderr, /^STORE_NOT_FOUND: no checkpoints in \S+nope yet /);
  assert.is(res.stderr.trim().split('\n').length, 1);
  assert.not.match(res.stderr, /\n\s+at /);
  for (const args of [['tag', 'best', 'x'], ['verify', '--all'], ['diff', 'best', 'latest'], ['log', '--follow']]) {
    const write = ckpt([...args, '--dir', join(tmp.dir, 'nope')]);
    assert.is(write.code, 1, args.join(' '));
    assert.match(write.stderr, /^STORE_NOT_FOUND: /);
  }
  assert.not.ok(existsSync(join(tmp.dir, 'nope')), 'nothing created');
});

test('given an unknown ref, when show runs, then it exits 1 with CLI_REF_UNKNOWN and --json carries the error', () => {
  const res = ckpt(['show', 'ckpt-99', '--dir', dir, '--json']);
  assert.is(res.code, 1);
  assert.match(res.stderr, /^CLI_REF_UNKNOWN: no checkpoint ckpt-99, so nothing matches "ckpt-99"/);
  assert.is(JSON.parse(res.stdout).error.code, 'CLI_REF_UNKNOWN');
  const debug = ckpt(['show', 'ckpt-99', '--dir', dir, '--debug']);
  assert.match(debug.stderr, /\n\s+at /, '--debug prints the stack');
});

test('given a bad option or missing argument, when parsed, then it exits 2 with CLI_USAGE', () => {
  const bad = ckpt(['ls', '--bogus', '--dir', dir]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^CLI_USAGE: unknown option '--bogus'/);
  const missing = ckpt(['show', '--dir', dir]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /CLI_USAGE: missing required argument 'ref'/);
  const unknown = ckpt(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /^CLI_USAGE: unknown command 'frobnicate'/);
  const bare = ckpt([]);
  assert.is(bare.code, 0);
  assert.match(bare.stdout, /Usage: ckpt <command>/);
  const help = ckpt(['why', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Example/);
});

test('given a live owner, when read commands run, then they read through it; when write commands run, then LEDGER_LOCKED names its pid', async () => {
  const ledger = await openLedger(join(dir, 'ledger'));
  const server = await startOwnerServer({ dir, ledger });
  try {
    const rows = await ckptAsync(['ls', '--all', '--json', '--dir', dir]).done;
    assert.is(rows.code, 0, rows.stderr);
    assert.equal(JSON.parse(rows.stdout).map((r: any) => r.id), ['ckpt-1', 'ckpt-2', 'ckpt-3', 'ckpt-4']);
    const why = await ckptAsync(['why', 'best', '--json', '--dir', dir]).done;
    assert.is(JSON.parse(why.stdout).id, 'ckpt-3');
    const tag = await ckptAsync(['tag', 'best', 'shipped', '--dir', dir]).done;
    assert.is(tag.code, 1);
    assert.match(tag.stderr, new RegExp(`^LEDGER_LOCKED: ckpt tag needs to write to .*, which process ${process.pid} owns`));
  } finally {
    await server.close();
    await ledger.close();
  }
});

test('given a locked ledger with no advertised owner, when write and read commands run, then LEDGER_LOCKED names the pid from the lock', async () => {
  const ledger = await openLedger(join(dir, 'ledger'));
  try {
    const res = await ckptAsync(['pin', 'best', '--dir', dir]).done;
    assert.is(res.code, 1);
    assert.match(res.stderr, new RegExp(`^LEDGER_LOCKED: .*process ${process.pid}`));
    const read = await ckptAsync(['ls', '--dir', dir]).done;
    assert.is(read.code, 1);
    assert.match(read.stderr, new RegExp(`^LEDGER_LOCKED: .* is owned by process ${process.pid}, which does not serve reads`));
  } finally {
    await ledger.close();
  }
});

test('given no owner, when log --follow runs, then it prints the trail, leaves the directory to writers, follows the next owner and ends with it', async () => {
  const expected = json(['log']).map((e: any) => e.seq);
  const follow = ckptAsync(['log', '--follow', '--json', '--dir', dir]);
  const printed = () => follow.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).seq as number);
  await until('the stored trail is printed', () => printed().length === expected.length && /waiting/.test(follow.stderr));
  assert.equal(printed(), expected);
  assert.not.ok(existsSync(join(dir, 'owner.json')), 'a follower does not own the directory');

  // The directory is free: a write command works while the follower waits.
  const tag = await ckptAsync(['tag', 'latest', 'followed', '--dir', dir]).done;
  assert.is(tag.code, 0, tag.stderr);
  const tagSeq = json(['log']).map((e: any) => e.seq).at(-1);
  assert.ok(tagSeq > expected.at(-1));

  // An owner appears: the follower catches up through it, and stops when it exits.
  const serve = ckptAsync(['serve', '--port', '0', '--dir', dir]);
  await until('the follower prints the tag through the owner', () => printed().includes(tagSeq));
  serve.child.kill('SIGINT');
  assert.is((await serve.done).code, 0);
  const done = await Promise.race([follow.done, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  if (!done) follow.child.kill('SIGKILL');
  assert.ok(done, 'log --follow ends when the owner it follows exits');
  assert.is(done!.code, 0, done!.stderr);
  assert.equal(printed(), [...expected, tagSeq]);
  assert.match(done!.stderr, /released .*; stopped following/);
});

test('given a waiting follower, when Ctrl-C arrives, then it stops cleanly', async () => {
  const follow = ckptAsync(['log', '--follow', '--dir', dir]);
  await until('the follower waits', () => /waiting/.test(follow.stderr));
  follow.child.kill('SIGINT');
  const done = await follow.done;
  assert.is(done.code, 0, done.stderr);
  assert.match(done.stdout, /save/);
});

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.run();
