/**
 * Several processes: while `ckpt train` owns the directory, `ckpt log --follow` in another process sees every
 * decision live, read commands go through the owner, and write commands fail with LEDGER_LOCKED naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, ckptAsync, tempDir } from './cli.helpers.js';

const tmp = tempDir('ckpt-cli-live-');
test.after(() => tmp.remove());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('given a training run in one process, when ckpt log --follow runs in another, then it sees every decision live', async () => {
  const dir = join(tmp.dir, 'checkpoints');
  const config = JSON.stringify({ trainSize: 1500, validationSize: 200, testSize: 100 });
  const training = ckptAsync(['train', '--dir', dir, '--epochs', '6', '--batch-size', '50', '--seed', '3', '--trainer-config', config]);
  let trainExitedAt = 0;
  void training.done.then(() => (trainExitedAt = Date.now()));
  await waitFor('owner.json', () => existsSync(join(dir, 'owner.json')) || trainExitedAt > 0);
  assert.is(trainExitedAt, 0, `training ended before it advertised itself: ${training.stderr}`);
  const owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
  assert.is(owner.pid, training.child.pid);

  const follow = ckptAsync(['log', '--follow', '--json', '--dir', dir]);
  const arrivals: { seq: number; kind: string; at: number }[] = [];
  let buffered = '';
  follow.child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) arrivals.push({ ...JSON.parse(line), at: Date.now() });
    }
  });

  // While it trains: a write command is refused naming the owner, a read command reads through it.
  await waitFor('a first commit', () => arrivals.some((a) => a.kind === 'commit') || trainExitedAt > 0);
  const tag = await ckptAsync(['tag', 'latest', 'x', '--dir', dir]).done;
  const ls = await ckptAsync(['ls', '--json', '--dir', dir]).done;
  const stillTraining = trainExitedAt === 0;
  // Blobs are read directly, so comparing weights works whoever owns the ledger. best and latest are never
  // pruned (epoch:1 may already be, on a fast machine).
  const diff = await ckptAsync(['diff', 'best', 'latest', '--json', '--dir', dir]).done;

  const trained = await training.done;
  assert.is(trained.code, 0, trained.stderr);
  const followed = await Promise.race([follow.done, sleep(20_000).then(() => null)]);
  if (!followed) follow.child.kill('SIGTERM');
  assert.ok(followed, 'log --follow ends when the owning run exits');
  assert.is(followed!.code, 0, followed!.stderr);

  assert.ok(stillTraining, 'the checks above ran while training was still going');
  assert.is(tag.code, 1);
  assert.match(tag.stderr, new RegExp(`^LEDGER_LOCKED: ckpt tag needs to write to .*, which process ${owner.pid} owns`));
  assert.is(ls.code, 0, ls.stderr);
  assert.ok(JSON.parse(ls.stdout).length >= 1);
  assert.is(diff.code, 0, diff.stderr);
  assert.ok(JSON.parse(diff.stdout).tensors.length >= 2);

  // Every decision the ledger holds was followed, in order, and decisions arrived before training ended.
  const recorded = JSON.parse(ckpt(['log', '--json', '--dir', dir]).stdout) as { seq: number; kind: string }[];
  const decisionKinds = new Set(['save', 'skip', 'prune', 'backup', 'stop', 'restore', 'warn']);
  const recordedDecisions = recorded.filter((e) => decisionKinds.has(e.kind)).map((e) => e.seq);
  const followedDecisions = arrivals.filter((e) => decisionKinds.has(e.kind)).map((e) => e.seq);
  assert.ok(recordedDecisions.length >= 6, `expected a decision per epoch, got ${recordedDecisions.length}`);
  assert.equal(followedDecisions, recordedDecisions);
  assert.equal(arrivals.map((a) => a.seq), recorded.map((e) => e.seq), 'no gap, no duplicate');
  const live = arrivals.filter((a) => decisionKinds.has(a.kind) && a.at < trainExitedAt);
  assert.ok(live.length >= 2, `decisions should arrive while training runs (got ${live.length} before exit)`);
});

test.run();
