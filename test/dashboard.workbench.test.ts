import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { BlobStore } from '../src/store/index.js';
import { readManifest } from '../src/store/read.js';
import { fetchJson } from '../src/server/index.js';
import { loadModel } from '../src/index.js';
import { BIN } from './cli.helpers.js';
import { openBrowser, type Browser } from './dashboard.helpers.js';

// One real run drives every step: `ckpt train --serve` with a trainer that waits after epoch 1 until a gate file
// exists, a keepLast-1 policy (so every older checkpoint gets a prune decision), then the page keeps serving.
const trainer = new URL('./dashboard.gated-trainer.ts', import.meta.url).pathname;
const screenshot = new URL('../docs/dashboard.png', import.meta.url).pathname;
let root: string;
let dir: string;
let training: ChildProcess | undefined;
let output = '';
let browser: Browser;
let base = '';

/**
 * Page errors, except the stream's reconnect attempts while the run's server hands its port over to the one
 * that keeps serving (between the two nothing listens for a moment; EventSource logs each refused retry).
 */
const pageErrors = () => browser.errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e));

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- ckpt train output ---\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ckpt-dashboard-workbench-'));
  dir = join(root, 'checkpoints');
  writeFileSync(join(root, 'policy.json'), JSON.stringify({ monitor: 'val_loss', everyNEpochs: 1, keepLast: 1 }));
  const config = JSON.stringify({ trainSize: 500, gate: join(root, 'gate'), gateAfterEpoch: 1 });
  training = spawn(process.execPath, [BIN, 'train', '--dir', dir, '--trainer', trainer, '--epochs', '4', '--policy', join(root, 'policy.json'), '--serve', '--trainer-config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  training.stdout!.on('data', (d) => (output += d));
  training.stderr!.on('data', (d) => (output += d));
  browser = await openBrowser(1440, 1100);
});
test.after(async () => {
  if (training && training.exitCode === null) training.kill('SIGKILL');
  await browser.close();
  rmSync(root, { recursive: true, force: true });
});

test('given `ckpt train --serve`, when the page pins ckpt-1 during the run, then the pin survives the keepLast prune decisions and the page keeps serving after training', async () => {
  const printed = await waitFor('the dashboard URL with its token', () => /dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))/.exec(output), 90_000);
  base = `http://127.0.0.1:${printed[2]}`;
  const { page } = browser;
  await page.goto(printed[1]);
  assert.not.match(page.url(), /token=/, 'the token leaves the address bar (the tab keeps it)');
  await page.waitForSelector('body[data-writes="on"]');
  await page.waitForSelector('tr[data-checkpoint="ckpt-1"]', { timeout: 90_000 });
  await page.click('[data-open="ckpt-1"]');
  await page.fill('#actions [name="pin-reason"]', 'first epoch, kept for the paper');
  await page.click('#actions [data-action="pin"]');
  await page.waitForSelector('tr[data-checkpoint="ckpt-1"][data-pinned="true"]');
  writeFileSync(join(root, 'gate'), 'go');

  await waitFor('training to end and the page to stay', () => output.includes('training ended; still serving the dashboard at'), 120_000);
  assert.match(output, new RegExp(`still serving the dashboard at ${base}/\\?token=${printed[3]} — Ctrl-C to stop`), 'same port, same token');
  await page.waitForSelector('.run[data-run="run-1"][data-status="finished"]', { timeout: 30_000 });
  const prunes = await fetchJson<{ checkpoint?: string; rule: string }[]>({ url: base }, '/api/decisions?kind=prune');
  assert.equal(prunes.map((d) => [d.checkpoint, d.rule]), [['ckpt-2', 'keepLast'], ['ckpt-3', 'keepLast']], 'keepLast pruned the others, never the pinned one');
  assert.is(await page.getAttribute('tr[data-checkpoint="ckpt-1"]', 'data-status'), 'kept');
  assert.is(await page.getAttribute('tr[data-checkpoint="ckpt-2"]', 'data-status'), 'pruned');
  assert.is(await page.getAttribute('tr[data-checkpoint="ckpt-4"]', 'data-status'), 'kept');
  const pinned = (await fetchJson<{ data: { reason: string } }[]>({ url: base }, '/api/log?kind=pin')) as unknown as { reason: string }[];
  assert.match(pinned[0].reason, /pinned ckpt-1: first epoch, kept for the paper/);
  assert.equal(pageErrors(), []);
});

test('given the finished run, when ckpt-1 is picked in the table and ckpt-4 on the timeline and compared, then metrics and per-tensor L2 equal `ckpt diff`', async () => {
  const { page } = browser;
  await page.click('#why-close');
  await page.click('tr[data-checkpoint="ckpt-1"] td.pick');
  await page.click('.marker.ckpt[data-checkpoint="ckpt-4"]');
  await page.click('#why-close');
  await page.click('#compare');
  await page.waitForSelector('#compare-view[data-base="ckpt-1"][data-others="ckpt-4"]');
  const diff = await fetchJson<{ metrics: { metric: string; b: number }[]; tensors: { name: string; l2: number }[] }>({ url: base }, '/api/diff?a=ckpt-1&b=ckpt-4');
  const shownL2 = await page.$$eval('#compare-view td.l2', (cells) => cells.map((c) => [c.getAttribute('data-tensor'), Number(c.getAttribute('data-value'))]));
  assert.equal(shownL2, diff.tensors.map((t) => [t.name, t.l2]));
  assert.ok(diff.tensors.length === 4 && diff.tensors.every((t) => t.l2 > 0), 'four tensors, all moved');
  const valLoss = diff.metrics.find((m) => m.metric === 'val_loss')!.b;
  assert.is(Number(await page.getAttribute('#compare-view td[data-metric="val_loss"][data-checkpoint="ckpt-4"]', 'data-value')), valLoss);
  // The picture the README shows: the workbench as a user sees it (no toast, scrolled to the top).
  await page.evaluate(() => {
    document.getElementById('toast')!.hidden = true;
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.equal(pageErrors(), []);
});

test('given ckpt-4, when its tfjs export is downloaded from the page, then loadModel loads the zip\'s files and predicts exactly as loadModel of the ref', async () => {
  const { page } = browser;
  await page.click('[data-open="ckpt-4"]');
  await page.selectOption('#actions [name="format"]', 'tfjs');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#actions [data-action="export"]')]);
  assert.is(download.suggestedFilename(), 'ckpt-4-tfjs.zip');
  const zip = join(root, 'ckpt-4-tfjs.zip');
  await download.saveAs(zip);
  const out = join(root, 'model');
  mkdirSync(out);
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(zip)))) writeFileSync(join(out, name), bytes);
  const fromZip = await loadModel(out);
  const fromRef = await loadModel('ckpt-4', { dir }); // read through the serving owner, blobs verified
  const x = tf.randomUniform([3, 784], 0, 1, 'float32', 7);
  assert.equal(Array.from((fromZip.predict(x) as tf.Tensor).dataSync()), Array.from((fromRef.predict(x) as tf.Tensor).dataSync()));
  assert.equal(fromZip.outputs[0].shape, [null, 10]);
  const exported = await fetchJson<{ reason: string }[]>({ url: base }, '/api/log?kind=export');
  assert.ok(exported.some((e) => /ckpt-4/.test(e.reason)), 'CheckpointExported is in the audit trail');
});

test('given a byte flipped in ckpt-1\'s kernel on disk, when the page verifies it, then progress completes and the row shows it corrupt', async () => {
  const { page } = browser;
  const show = await fetchJson<{ manifest: string }>({ url: base }, '/api/show?ref=ckpt-1');
  const blobs = new BlobStore(dir);
  const manifest = await readManifest(show.manifest, (hash) => blobs.read(hash), 'ckpt-1');
  const kernel = manifest.objects.model.weights[0];
  const path = blobs.path(kernel.blob);
  const bytes = readFileSync(path);
  bytes[100] ^= 0x01;
  writeFileSync(path, bytes);
  await page.click('[data-open="ckpt-1"]');
  await page.click('#actions [data-action="verify"]');
  await page.waitForSelector('tr[data-checkpoint="ckpt-1"][data-status="corrupt"]', { timeout: 30_000 });
  await page.waitForSelector('#verify-status[data-ok="false"]');
  assert.match(await page.textContent('#verify-status') ?? '', /ckpt-1 is corrupt or missing \(of 1\)/);
  assert.is(await page.getAttribute('#verify-progress', 'value'), '1');
  assert.equal(pageErrors(), []);
});

test('given the page still serving after training, when Ctrl-C arrives, then it stops and exits with the run\'s code 0', async () => {
  const exited = new Promise<number | null>((resolve) => training!.on('exit', (code) => resolve(code)));
  training!.kill('SIGINT');
  assert.is(await exited, 0, output);
});

test.run();
