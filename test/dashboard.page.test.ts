import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryLedger } from '../ledger/index.js';
import type { Ledger } from '../ledger/types.js';
import { fetchJson, startOwnerServer, type OwnerServer } from '../src/server/index.js';
import { openBrowser, resultsDir, type Browser } from './dashboard.helpers.js';
import { fillLedger, runBatches } from './server.fixture.js';

let dir: string;
let ledger: Ledger;
let server: OwnerServer;
let browser: Browser;

test.before(async () => {
  browser = await openBrowser();
});
test.after(async () => {
  await browser.close();
});
test.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-dashboard-page-'));
  ledger = await openMemoryLedger();
  await fillLedger(ledger, { run: 'run-1', epochs: 8, crashAfter: 4 });
  server = await startOwnerServer({ dir, ledger }, { page: true });
  browser.errors.length = 0;
});
test.after.each(async () => {
  await server.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (selector: string) => browser.page.locator(selector).count();

test('given a finished run with a crash, when the page opens, then runs, curves, markers, star, badges and store match the API', async () => {
  const { page } = browser;
  const eventStreams: string[] = [];
  page.on('request', (r) => r.url().includes('/api/events') && eventStreams.push(r.url()));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-connection="live"]');
  await page.waitForSelector('.chart-card[data-family="loss"][data-points="8"]');
  const checkpoints = await fetchJson<{ id: string; status: string; marks: string[] }[]>(server, '/api/checkpoints?all=1');
  assert.is(await count('.marker.ckpt'), checkpoints.length);
  assert.is(await count('.marker.ckpt.pruned'), checkpoints.filter((c) => c.status === 'pruned').length);
  const best = checkpoints.find((c) => c.marks.includes('best:val_loss'))!;
  assert.is(await page.getAttribute('.marker.star[data-monitor="val_loss"]', 'data-checkpoint'), best.id);
  assert.is(await page.textContent(`.badges[data-checkpoint="${best.id}"]`), 'bestlatest');
  const decisions = await fetchJson<{ kind: string }[]>(server, '/api/decisions');
  assert.is(await count('.marker.skip'), decisions.filter((d) => d.kind === 'skip').length);
  assert.is(await count('.marker.crash'), 1);
  assert.is(await count('.marker.resume'), 1);
  assert.is(await page.getAttribute('.run[data-run="run-1"]', 'data-status'), 'finished');
  assert.is(await count('.chart-card[data-family="acc"]'), 1, 'acc and val_acc share a chart');
  const summary = await fetchJson<{ bytes: { dedupeRatio: number } }>(server, '/api/summary');
  await page.waitForSelector('[data-dedupe]');
  assert.is(Number(await page.getAttribute('[data-dedupe]', 'data-dedupe')), summary.bytes.dedupeRatio);
  assert.match(await page.textContent('#policy') ?? '', /keepTopK\s*3/);
  assert.is(await count('#decisions tr.decision'), decisions.length);
  assert.is(eventStreams.length, 1, 'one SSE stream per page');
  // The timeline shares the curves' x-axis: epoch 3 sits at the same screen x in both.
  // (no named inner functions: tsx would wrap them in a helper the page does not have)
  const xs = await page.evaluate(() => ['metric:loss', 'metric:acc', 'timeline'].map((key) => {
    const u = (window as any).ckptDashboard.ui.charts.get(key).plot;
    return u.over.getBoundingClientRect().left + u.valToPos(3, 'x');
  }));
  assert.ok(Math.abs(xs[0] - xs[2]) < 1 && Math.abs(xs[1] - xs[2]) < 1, `epoch 3 at x = ${xs.join(', ')}`);
  const markerX = await page.evaluate(() => {
    const m = document.querySelector('.marker.ckpt[data-epoch="3"]')!.getBoundingClientRect();
    return m.left + m.width / 2;
  });
  assert.ok(Math.abs(markerX - xs[2]) < 1.5, `the epoch-3 marker is drawn at its epoch (${markerX} vs ${xs[2]})`);
  assert.equal(browser.errors, []);
  await page.screenshot({ path: join(resultsDir(), 'dashboard-fixture.png'), fullPage: true });
});

test('given an open page, when a new run trains live, then curves grow, markers appear and the best star moves', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-connection="live"]');
  const batches = [...runBatches({ run: 'run-2', epochs: 5, startAt: Date.now() }, ledger.lastSeq + 1)];
  const stars: string[] = [];
  let pendingSeen = 0;
  for (const batch of batches.slice(0, -2)) {
    await ledger.append(batch);
    if (batch[0].type === 'SaveDecided') {
      // Decided but not yet committed: a pending marker at that epoch.
      await page.waitForSelector(`.marker.pending[data-epoch="${(batch[0].data as { epoch: number }).epoch}"]`, { timeout: 5000 });
      pendingSeen++;
    }
    if (batch.some((e) => e.type === 'CheckpointCommitted')) {
      await page.waitForFunction(() => document.querySelectorAll('.marker.pending').length === 0);
      const id = (batch[0].data as { checkpoint: string }).checkpoint;
      await page.waitForSelector(`.marker.star[data-monitor="val_loss"][data-checkpoint="${id}"]`, { timeout: 5000 });
      stars.push(id);
    }
  }
  assert.ok(stars.length >= 3, `star moved ${stars.length} times`);
  assert.is(pendingSeen, stars.length, 'every save showed as pending before its commit');
  assert.equal(stars, [...new Set(stars)], 'each move lands on a new checkpoint');
  assert.is(await page.getAttribute('.run[data-run="run-2"]', 'data-status'), 'running');
  assert.ok(Number(await page.getAttribute('.run[data-run="run-2"] .lag', 'data-lag')) < 30);
  assert.is(await page.getAttribute('.chart-card[data-family="loss"]', 'data-points'), '5');
  for (const batch of batches.slice(-2)) await ledger.append(batch);
  await page.waitForSelector('.run[data-run="run-2"][data-status="finished"]');
  // Selecting the older run shows its curves and its timeline.
  await page.click('.run[data-run="run-1"]');
  await page.waitForSelector('.run[data-run="run-1"].selected');
  assert.is(await page.textContent('#run-title'), 'run-1');
  await page.waitForSelector('.chart-card[data-family="loss"][data-points="8"]');
  assert.is(await count('.marker.crash'), 1, 'run-1 crashed once; run-2 never did');
  assert.match(page.url(), /\?run=run-1$/, 'the selection is in the URL');
  await page.goto(page.url());
  await page.waitForSelector('.run[data-run="run-1"].selected');
  assert.is(await page.textContent('#run-title'), 'run-1', 'a ?run= link opens that run');
  assert.equal(browser.errors, []);
});

test('given the decision log, when a kind is filtered out, then its rows disappear and the others stay', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#decisions tr.decision');
  const decisions = await fetchJson<{ kind: string }[]>(server, '/api/decisions');
  const saves = decisions.filter((d) => d.kind === 'save').length;
  assert.ok(saves > 0);
  await page.click('#kind-filter [data-kind="save"]');
  await page.waitForFunction((n) => document.querySelectorAll('#decisions tr.decision').length === n, decisions.length - saves);
  assert.is(await count('#decisions tr.decision[data-kind="save"]'), 0);
  await page.click('#kind-filter [data-kind="save"]');
  await page.waitForFunction((n) => document.querySelectorAll('#decisions tr.decision').length === n, decisions.length);
});

test('given a checkpoint marker or a decision row, when clicked, then the why drawer explains that checkpoint', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.waitForSelector('.marker.ckpt');
  const id = await page.getAttribute('.marker.ckpt >> nth=0', 'data-checkpoint');
  await page.click('.marker.ckpt >> nth=0');
  await page.waitForSelector('#why:not([hidden]) .why-summary li');
  const why = await fetchJson<{ summary: string[] }>(server, `/api/why?ref=${id}`);
  assert.is(await page.getAttribute('#why', 'data-checkpoint'), id);
  assert.match((await page.textContent('#why-body h2')) ?? '', id!);
  assert.match((await page.textContent('#why-body')) ?? '', why.summary[0]);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#why', { state: 'hidden' });
  await page.click('#decisions .why-link >> nth=0');
  const linked = (await page.getAttribute('#decisions .why-link >> nth=0', 'data-checkpoint'))!;
  await page.waitForFunction((c) => document.querySelector('#why-body h2')?.textContent?.includes(c), linked);
});

test('given the chart controls, when log scale and smoothing change, then the charts are rebuilt with that shape', async () => {
  const { page } = browser;
  await page.goto(`${server.url}/`);
  await page.waitForSelector('.chart-card[data-family="loss"] .u-legend');
  const seriesCount = () => page.locator('.chart-card[data-family="loss"] .u-legend .u-series').count();
  assert.is(await seriesCount(), 3, 'epoch + loss + val_loss');
  await page.fill('#smoothing', '0.6');
  await page.dispatchEvent('#smoothing', 'input');
  await page.waitForFunction(() => document.querySelectorAll('.chart-card[data-family="loss"] .u-legend .u-series').length === 5);
  await page.check('#log-scale');
  // Rendering happens on the next animation frame: wait for the rebuilt chart.
  await page.waitForFunction(() => (window as any).ckptDashboard.ui.charts.get('metric:loss')?.plot.scales.y.distr === 3);
  const card = await page.getAttribute('.chart-card[data-family="loss"]', 'data-points');
  assert.is(card, '8', 'the rebuilt chart still has every epoch');
  assert.equal(browser.errors, []);
});

test('given an open page, when its server restarts on the same port after more events, then the page resumes with Last-Event-ID: no gap, no duplicate', async () => {
  const { page } = browser;
  const streams: import('playwright-core').Request[] = [];
  page.on('request', (r) => r.url().includes('/api/events') && streams.push(r));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-connection="live"]');
  const seenBefore = Number(await page.getAttribute('body', 'data-last-seq'));
  assert.is(seenBefore, ledger.lastSeq);
  const port = server.port;
  await server.close();
  await page.waitForSelector('body[data-connection="reconnecting"]');
  for (const batch of runBatches({ run: 'run-2', epochs: 3 }, ledger.lastSeq + 1)) await ledger.append(batch);
  server = await startOwnerServer({ dir, ledger }, { port, page: true });
  await page.waitForFunction((seq) => document.body.dataset.lastSeq === String(seq), ledger.lastSeq, { timeout: 10_000 });
  const resumes = (await Promise.all(streams.map((r) => r.allHeaders()))).map((h) => h['last-event-id']).filter(Boolean);
  assert.ok(resumes.includes(String(seenBefore)), `reconnected with Last-Event-ID ${seenBefore} (saw ${resumes.join(',')})`);
  const decisions = await fetchJson<unknown[]>(server, '/api/decisions');
  const newest = await fetchJson<unknown[]>(server, '/api/decisions?run=run-2');
  // The log shows the selected run: the newest one.
  await page.waitForFunction((n) => document.querySelectorAll('#decisions tr.decision').length === n, newest.length);
  const modelDecisions = await page.evaluate(() => (window as any).ckptDashboard.ui.model.decisions.map((d: { seq: number }) => d.seq));
  assert.equal(modelDecisions, [...new Set(modelDecisions)], 'no decision twice');
  assert.is(modelDecisions.length, decisions.length);
  assert.ok(await page.locator('.run[data-run="run-2"]').count() === 1);
});

test('given a server off loopback with a token, when the page opens with ?token=, then it loads, streams and reads through the token', async () => {
  const secured = await startOwnerServer({ dir, ledger }, { host: '0.0.0.0', token: 'page-token-1234', page: true, advertise: false });
  const { page } = browser;
  try {
    const denied = await page.goto(`http://127.0.0.1:${secured.port}/`);
    assert.is(denied?.status(), 401);
    await page.goto(`http://127.0.0.1:${secured.port}/?token=page-token-1234`);
    await page.waitForSelector('body[data-connection="live"]');
    await page.waitForSelector('.marker.ckpt');
    await page.waitForSelector('[data-dedupe]');
  } finally {
    await secured.close();
  }
});

test.run();
