// Issue 12 item 2, silence at start: a trainer that cannot start (a Python import error) or never says hello is
// reported within seconds, with its own last stderr lines, on the terminal and in the ledger; it is not
// restarted (it would fail the same way), and `ckpt train` exits non-zero. Real processes, the built CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ckpt } from './cli.helpers.js';
import { readEvents, tempDir } from './fixtures/run-helpers.js';

test('given a Python trainer that fails at import, when ckpt train runs it, then it exits 1 within seconds with the ModuleNotFoundError on the terminal and in the ProtocolFault', async () => {
  const t = tempDir();
  try {
    const trainer = join(t.dir, 'broken_trainer.py');
    writeFileSync(trainer, 'import sys\nprint("starting the broken trainer", file=sys.stderr)\nimport nonexistent_module_xyz\n');
    const started = Date.now();
    const result = ckpt(['train', '--trainer', trainer, '--dir', join(t.dir, 'ckpt'), '--epochs', '2']);
    const seconds = (Date.now() - started) / 1000;
    assert.is(result.code, 1, result.stdout + result.stderr);
    assert.ok(seconds < 15, `reported after ${seconds} s`);
    const terminal = result.stdout + result.stderr;
    assert.match(terminal, "ModuleNotFoundError: No module named 'nonexistent_module_xyz'");
    assert.match(terminal, 'not restarting a trainer that fails before hello');
    const events = await readEvents(join(t.dir, 'ckpt'));
    const faults = events.filter((e) => e.type === 'ProtocolFault').map((e) => e.data as { code: string; stderr?: string[]; message: string });
    assert.is(faults.length, 1, 'one attempt, no restarts');
    assert.is(faults[0].code, 'PROTOCOL_EXIT_WITHOUT_DONE');
    assert.ok(faults[0].stderr?.includes("ModuleNotFoundError: No module named 'nonexistent_module_xyz'"), JSON.stringify(faults[0]));
    assert.is(faults[0].stderr?.[0], 'starting the broken trainer');
    assert.match(faults[0].message, 'nonexistent_module_xyz');
    assert.is(events.filter((e) => e.type === 'RunCrashed').length, 1);
    assert.is(events.filter((e) => e.type === 'RunStarted').length, 0, 'nothing started');
  } finally {
    t.cleanup();
  }
});

test('given a trainer that never says hello, when ckpt train runs it with --hello-timeout 2, then PROTOCOL_NO_HELLO within seconds, its stderr shown, no restart', async () => {
  const t = tempDir();
  try {
    const trainer = join(t.dir, 'silent_trainer.py');
    writeFileSync(trainer, 'import sys, time\nprint("loading a very large dataset", file=sys.stderr, flush=True)\ntime.sleep(600)\n');
    const started = Date.now();
    const result = ckpt(['train', '--trainer', trainer, '--dir', join(t.dir, 'ckpt'), '--hello-timeout', '2']);
    const seconds = (Date.now() - started) / 1000;
    assert.is(result.code, 1, result.stdout + result.stderr);
    assert.ok(seconds >= 2 && seconds < 15, `reported after ${seconds} s`);
    const terminal = result.stdout + result.stderr;
    assert.match(terminal, 'PROTOCOL_NO_HELLO');
    assert.match(terminal, 'loading a very large dataset');
    const events = await readEvents(join(t.dir, 'ckpt'));
    const faults = events.filter((e) => e.type === 'ProtocolFault').map((e) => e.data as { code: string; stderr?: string[] });
    assert.equal(faults.map((f) => f.code), ['PROTOCOL_NO_HELLO'], 'one attempt, no restarts');
    assert.equal(faults[0].stderr, ['loading a very large dataset']);
  } finally {
    t.cleanup();
  }
});

test('given a trainer that never says hello, when ckpt train runs it with the defaults, then it gives up after the 15 s default, not minutes', async () => {
  const t = tempDir();
  try {
    const trainer = join(t.dir, 'mute_trainer.py');
    writeFileSync(trainer, 'import time\ntime.sleep(600)\n');
    const started = Date.now();
    const result = ckpt(['train', '--trainer', trainer, '--dir', join(t.dir, 'ckpt')]);
    const seconds = (Date.now() - started) / 1000;
    assert.is(result.code, 1, result.stdout + result.stderr);
    assert.ok(seconds >= 15 && seconds < 40, `reported after ${seconds} s`);
    assert.match(result.stdout + result.stderr, 'no hello within 15 s');
  } finally {
    t.cleanup();
  }
});

test.run();
