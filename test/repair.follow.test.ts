/**
 * `ckpt log --follow` started before the run's directory exists waits for it (issue 12 item 10, as docs/cli.md
 * says), and prints exactly the rows `ckpt log` prints (issue 14 item 10: one formatter); `ckpt rebuild` shows a
 * policy projection's version as a version.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, ckptAsync, tempDir } from './cli.helpers.js';
import { trainArgs } from './repair.helpers.js';
import { catalogProjection } from '../src/projections/catalog.js';

const tmp = tempDir('ckpt-follow-');
test.after(() => tmp.remove());

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('given no directory yet, when log --follow starts and then a run trains there, then it waits, follows the run and prints the same rows as log', async () => {
  const dir = join(tmp.dir, 'later');
  const follow = ckptAsync(['log', '--follow', '--dir', dir]);
  await until('the follower says it waits for the directory', () => /does not exist yet; waiting/.test(follow.stderr));
  assert.not.ok(existsSync(dir), 'the follower creates nothing');
  const trained = await ckptAsync(trainArgs(dir, 3, 30)).done;
  assert.is(trained.code, 0, trained.stderr);
  const done = await Promise.race([follow.done, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  if (!done) follow.child.kill('SIGTERM');
  assert.ok(done, 'the follower ends when the run it follows exits');
  assert.is(done!.code, 0, done!.stderr);
  assert.not.match(done!.stderr, /STORE_NOT_FOUND/);
  const logged = ckpt(['log', '--dir', dir]);
  assert.is(logged.code, 0);
  assert.match(logged.stdout, /^\s*SEQ\s+TIME\s+RUN\s+EPOCH\s+KIND\s+RULE\s+REASON\n/);
  assert.match(logged.stdout, /run-1\s+3\s+commit\s+committed ckpt-3/);
  assert.is(done!.stdout, logged.stdout, 'followed rows are exactly the logged rows');
});

test('given a run, when rebuild runs, then the policy projection version reads as a version and a config hash', () => {
  const dir = join(tmp.dir, 'later');
  const res = ckpt(['rebuild', '--dir', dir]);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /policy:run-1\s+v\d+, config [0-9a-f]{8}\s+yes/);
  assert.match(res.stdout, new RegExp(`catalog\\s+v${catalogProjection.version}\\s+yes`));
  assert.not.match(res.stdout, /\b\d{9,}\b/, 'no raw 31-bit hash');
});

test.run();
