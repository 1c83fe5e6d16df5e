/**
 * Wrapper-script trainers (issue 12): a shell script that starts the real program without `exec` leaves a
 * grandchild that holds the trainer's stdout. `ckpt train` must signal the trainer's whole process group, never
 * wait on pipes of a trainer that is gone, exit within a few seconds of SIGTERM in every state, and release the
 * ledger lock. Real processes: `ckpt train`, /bin/sh wrappers, node grandchildren, real SIGTERM.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, ckpt, tempDir } from './cli.helpers.js';
import { spawn } from 'node:child_process';

const EXACT = fileURLToPath(new URL('./fixtures/exact-trainer.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const tmp = tempDir('ckpt-wrapper-');
test.after(() => tmp.remove());

// The grandchild: appends its pid, prints a stray (non-frame) line unless told to stay silent, then sleeps 1000 s.
writeFileSync(join(tmp.dir, 'stray.mjs'), `
import { appendFileSync } from 'node:fs';
appendFileSync(process.argv[2], process.pid + '\\n');
if (process.argv[3] !== 'silent') process.stdout.write('Hi there, this is not a frame\\n');
setTimeout(() => {}, 1000 * 1000);
`);

function wrapper(name: string, body: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, `#!/bin/sh\n# no exec: the real program is a grandchild of ckpt\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const NODE = JSON.stringify(process.execPath);
const STRAY = wrapper('stray.sh', `${NODE} ${JSON.stringify(join(tmp.dir, 'stray.mjs'))} "$PID_FILE"`);
const SILENT = wrapper('silent.sh', `${NODE} ${JSON.stringify(join(tmp.dir, 'stray.mjs'))} "$PID_FILE" silent`);
const REAL = wrapper('real.sh', `${NODE} --import ${JSON.stringify(TSX)} ${JSON.stringify(EXACT)}`);
const LEAVES_SLEEPER = wrapper('leaves-sleeper.sh', `${NODE} ${JSON.stringify(join(tmp.dir, 'stray.mjs'))} "$PID_FILE" silent &\n${NODE} --import ${JSON.stringify(TSX)} ${JSON.stringify(EXACT)}`);

/** Alive and not a zombie (an orphan whose reaper never came is dead for our purposes). */
function isPidAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let n = 0;
/** Start `ckpt train` with a wrapper trainer; resolves lines of its output as they arrive. */
function startTrain(trainer: string, args: string[], env: Record<string, string> = {}) {
  const dir = join(tmp.dir, `ckpt-${++n}`);
  const pidFile = join(tmp.dir, `pids-${n}`);
  const child = spawn(process.execPath, [BIN, 'train', '--dir', dir, '--trainer', trainer, ...args], {
    env: { ...process.env, NO_COLOR: '1', PID_FILE: pidFile, EXACT_PID_FILE: pidFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const ended = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  // A regression hangs here: fail after 30 s instead, and take the processes down with the test.
  const exited = Promise.race([ended, new Promise<never>((_, reject) => setTimeout(() => {
    child.kill('SIGKILL');
    for (const pid of pids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    reject(new Error(`ckpt train did not exit within 30 s; output: ${output.slice(-1500)}`));
  }, 30_000).unref())]);
  const pids = (): number[] => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number) : []);
  return {
    dir, child, exited, pids, get output() { return output; },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGTERM `ckpt train`; returns how long it took to exit and its code. */
async function terminate(run: ReturnType<typeof startTrain>): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const { code, at } = await run.exited;
  return { code, ms: at - t0 };
}

/** Every grandchild is gone and another ckpt process can open the directory (the lock is released). */
async function assertAllGone(run: ReturnType<typeof startTrain>): Promise<void> {
  const pids = run.pids();
  assert.ok(pids.length >= 1, 'the grandchild started');
  await until('the grandchildren to be reaped', () => pids.every((p) => !isPidAlive(p)), 2000).catch(() => {});
  assert.equal(pids.filter((p) => isPidAlive(p)), [], 'no grandchild left running');
  const ls = ckpt(['ls', '--dir', run.dir, '--all']);
  assert.is(ls.code, 0, ls.stderr);
  assert.not.match(ls.stderr, /LOCKED/);
}

test('given a wrapper whose grandchild is silent (before hello), when ckpt train gets SIGTERM, then it exits 143 within 5 s and the grandchild is gone', async () => {
  const run = startTrain(SILENT, ['--epochs', '3']);
  await until('the grandchild to start', () => run.pids().length === 1);
  const { code, ms } = await terminate(run);
  assert.is(code, 143, run.output);
  assert.ok(ms < 5000, `exited ${ms} ms after SIGTERM`);
  await assertAllGone(run);
});

// Restarts allowed or not, a trainer that failed before hello is not restarted (it would fail the same way).
for (const restarts of ['0', '3']) {
  test(`given a wrapper whose grandchild prints a stray line and sleeps, when --max-restarts is ${restarts}, then it records the fault and exits 1 at once without a restart, every grandchild gone`, async () => {
    const run = startTrain(STRAY, ['--epochs', '3', '--max-restarts', restarts]);
    await until('the grandchild to start', () => run.pids().length === 1);
    const t0 = Date.now();
    const { code, at } = await run.exited;
    assert.is(code, 1, run.output);
    assert.match(run.output, /PROTOCOL_FRAME_TOO_LARGE/);
    assert.ok(at - t0 < 5000, `exited ${at - t0} ms after the grandchild started`);
    assert.is(run.pids().length, 1, 'one trainer was spawned');
    await assertAllGone(run);
  });
}

test('given a wrapper around a real trainer, when ckpt train gets SIGTERM mid-epoch, then it records the stop, exits 143 within 5 s and the trainer is gone', async () => {
  const run = startTrain(REAL, ['--epochs', '100'], { EXACT_BATCH_MS: '60' });
  await until('epoch 2 to be saved', () => /save +epoch 2/.test(run.output));
  const { code, ms } = await terminate(run);
  assert.is(code, 143, run.output);
  assert.ok(ms < 5000, `exited ${ms} ms after SIGTERM`);
  assert.match(run.output, /stopped by SIGTERM/);
  await assertAllGone(run);
  // (Whether the final "interrupted" save finds its state is the supervisor's choice of position, not tested here.)
  assert.match(ckpt(['log', '--dir', run.dir]).stdout, /run stopped: interrupted by SIGTERM/);
});

test('given a wrapper that leaves a background grandchild holding stdout, when the real trainer finishes, then ckpt train exits 0 at once and the grandchild is gone', async () => {
  const run = startTrain(LEAVES_SLEEPER, ['--epochs', '3']);
  const { code } = await run.exited;
  assert.is(code, 0, run.output);
  assert.match(run.output, /finished at epoch 3/);
  await assertAllGone(run);
});

test.run();
