/**
 * What a new user meets first (issue 14 items 8 and 10): a directory with no ledger yet, and usage errors that
 * point at the subcommand's own --help.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ckpt, tempDir } from './cli.helpers.js';

const tmp = tempDir();
const empty = join(tmp.dir, 'checkpoints');

test('given a directory with no ledger, when ls runs, then it says there are no checkpoints yet and how to make some, exit 0', () => {
  const res = ckpt(['ls', '--dir', empty]);
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout, `no checkpoints in ${empty} yet (run \`npx ckpt train --dir ${empty}\`)\n`);
  const json = ckpt(['ls', '--dir', empty, '--json']);
  assert.is(json.code, 0);
  assert.equal(JSON.parse(json.stdout), []);
  assert.not.ok(existsSync(empty), 'nothing created');
});

test('given a directory with no ledger, when a command that needs a checkpoint runs, then STORE_NOT_FOUND says none exist yet, exit 1', () => {
  for (const args of [['show', 'best'], ['why', 'latest'], ['best'], ['latest'], ['diff', 'best', 'latest'], ['export', 'best', '--format', 'bundle', '--out', join(tmp.dir, 'x.ckpt')], ['verify', '--all']]) {
    const res = ckpt([...args, '--dir', empty]);
    assert.is(res.code, 1, args.join(' '));
    assert.is(res.stderr, `STORE_NOT_FOUND: no checkpoints in ${empty} yet (run \`npx ckpt train --dir ${empty}\`, or pass the --dir of an existing run)\n`, args.join(' '));
  }
  assert.not.ok(existsSync(empty), 'nothing created');
});

test('given a usage error in a subcommand, when parsed or checked, then the message points at that subcommand\'s --help, exit 2', () => {
  const bad = ckpt(['ls', '--bogus', '--dir', empty]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^CLI_USAGE: .*--bogus.*; see `ckpt ls --help`\n$/);
  const missing = ckpt(['export', 'best', '--dir', empty]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /see `ckpt export --help`\n$/);
  const checked = ckpt(['verify', 'best', '--all', '--dir', empty]);
  assert.is(checked.code, 2);
  assert.is(checked.stderr, 'CLI_USAGE: give a ref or --all, not both; see `ckpt verify --help`\n');
  const unknown = ckpt(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /see `ckpt --help`\n$/);
  const invalid = ckpt(['show', 'newest!', '--dir', empty]);
  assert.is(invalid.code, 2, 'a string that is not a ref is a usage error, ledger or not');
  assert.match(invalid.stderr, /^CLI_REF_INVALID: "newest!" is not a checkpoint reference; .*; see `ckpt show --help`\n$/);
});

test.after(() => tmp.remove());
test.run();
