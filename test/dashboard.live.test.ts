import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchJson, readOwner, type Owner } from '../src/server/index.js';
import { openBrowser, resultsDir, type Browser } from './dashboard.helpers.js';

const cli = new URL('../src/cli/main.ts', import.meta.url).pathname;
let dir: string;
let training: ChildProcess | undefined;
let browser: Browser | undefined;

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-dashboard-live-'));
});
test.after.each(async () => {
  if (training && training.exitCode === null && training.signalCode === null) training.kill('SIGKILL');
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Direct children of a process whose command line mentions `name` (the supervisor's trainer), from /proc. */
function childPids(pid: number, name: string): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(name);
    } catch {
      return false;
    }
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('given `ckpt train --serve`, when the page is open while it trains, then curves and checkpoints appear live, a killed trainer shows crash and resume, the best star moves, and the page stays after training until Ctrl-C', async () => {
  let output = '';
  training = spawn(process.execPath, ['--import', 'tsx', cli, 'train', '--dir', join(dir, 'ck'), '--epochs', '7', '--serve', '--trainer-config', '{"trainSize":1000}'], { stdio: ['ignore', 'pipe', 'pipe'] });
  training.stdout!.on('data', (d) => (output += d));
  training.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => training!.on('exit', (code) => resolve(code)));
  try {
    const owner = await waitFor<Owner>('owner.json of the training run', () => readOwner(join(dir, 'ck')), 60_000);
    assert.is(owner.pid, training.pid);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${owner.url}/`);

    // Curves and at least two checkpoint markers, while the run is still training.
    await page.waitForFunction(() => Number(document.querySelector('.chart-card[data-family="loss"]')?.getAttribute('data-points') ?? 0) >= 2
      && document.querySelectorAll('.marker.ckpt').length >= 2, undefined, { timeout: 90_000 });
    assert.is(training.exitCode, null, 'training is still running');
    assert.is(await page.getAttribute('.run[data-run="run-1"]', 'data-status'), 'running');
    assert.ok(await page.locator('.chart-card[data-family="loss"] canvas').count() >= 1);
    const firstStar = (await page.getAttribute('.marker.star[data-monitor="val_loss"]', 'data-checkpoint'))!;
    await page.screenshot({ path: join(resultsDir(), 'dashboard-live-training.png'), fullPage: true });

    // A real fault: SIGKILL the trainer; the supervisor records the crash and resumes.
    const trainerPid = await waitFor('the trainer process', () => childPids(training!.pid!, 'mnist-mlp')[0], 10_000);
    process.kill(trainerPid, 'SIGKILL');
    await page.waitForSelector('.marker.crash', { timeout: 60_000 });
    await page.waitForSelector('.marker.resume', { timeout: 60_000 });

    // The star moves to a later, better checkpoint as training improves.
    await page.waitForFunction(([first]) => {
      const star = document.querySelector('.marker.star[data-monitor="val_loss"]');
      return star && star.getAttribute('data-checkpoint') !== first;
    }, [firstStar], { timeout: 90_000 });
    const movedTo = (await page.getAttribute('.marker.star[data-monitor="val_loss"]', 'data-checkpoint'))!;
    await page.screenshot({ path: join(resultsDir(), 'dashboard-live.png'), fullPage: true });
    assert.equal(browser.errors, [], 'no page errors while training');

    // Training ends, the page stays (same port) until Ctrl-C, which exits with the run's code.
    await waitFor('the keep-serving line', () => output.includes('training ended; still serving the dashboard at'), 120_000);
    await page.waitForSelector('.run[data-run="run-1"][data-status="finished"]', { timeout: 15_000 });
    assert.is(training.exitCode, null, 'still serving after training');
    // The star moved to a better checkpoint by the ledger's own numbers. Asked of the server that keeps serving:
    // training may already have ended when the star moved, and between the run's server closing and this one
    // opening on the same port nothing answers.
    const serving = await readOwner(join(dir, 'ck'));
    assert.is(serving?.url, owner.url, 'the same address after training');
    const checkpoints = await fetchJson<{ id: string; epoch: number; metrics: Record<string, number> }[]>(serving!, '/api/checkpoints?all=1');
    const before = checkpoints.find((c) => c.id === firstStar)!;
    const after = checkpoints.find((c) => c.id === movedTo)!;
    assert.ok(after.epoch > before.epoch, `star moved from epoch ${before.epoch} to ${after.epoch}`);
    assert.ok(after.metrics.val_loss < before.metrics.val_loss, `val_loss ${after.metrics.val_loss} < ${before.metrics.val_loss}`);
    training.kill('SIGINT');
    assert.is(await exited, 0, output);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- ckpt train output ---\n${output}`);
  }
});

test.run();
