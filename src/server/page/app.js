// The dashboard: one SSE stream (/api/events) folded into the page model, JSON endpoints for the store summary
// and `why`, and a render pass per animation frame when something changed.
import { renderMetricCharts, renderTimeline } from './charts.js';
import { applyEvent, createModel } from './model.js';
import { fmtBytes, renderDecisions, renderPolicy, renderRuns, renderStore, renderWhy } from './panels.js';
import { createBench } from './bench.js';

const KINDS = ['save', 'skip', 'prune', 'backup', 'stop', 'restore', 'warn'];
const params = new URLSearchParams(location.search);
const token = params.get('token'); // a read token (--token) rides in the cookie after this first load
const withToken = (path) => (token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path);
const $ = (id) => document.getElementById(id);

const ui = {
  model: createModel(),
  selectedRun: params.get('run'), // null = follow the newest run; ?run=run-2 links to one
  selectedCheckpoint: null,
  filters: new Set(KINDS),
  logScale: false,
  smoothing: 0,
  charts: new Map(),
  summary: null,
  dirty: true,
  frame: 0,
  /** Server clock minus ours: lag is measured against event times, which the server's clock wrote. */
  clockSkewMs: 0,
};
const serverNow = () => Date.now() + ui.clockSkewMs;

async function api(path) {
  const res = await fetch(withToken(path), { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function currentRun() {
  const { model } = ui;
  const newest = model.runOrder[model.runOrder.length - 1];
  return (ui.selectedRun && model.runs.get(ui.selectedRun)) || (newest ? model.runs.get(newest) : undefined);
}

function scheduleRender() {
  ui.dirty = true;
  if (!ui.frame) ui.frame = requestAnimationFrame(render);
}

function render() {
  ui.frame = 0;
  if (!ui.dirty) return;
  ui.dirty = false;
  const run = currentRun();
  const now = serverNow();
  renderRuns($('runs'), ui.model, run?.id, now);
  renderPolicy($('policy'), run);
  renderStore($('store'), ui.summary);
  renderDecisions($('decisions'), ui.model, ui.filters, run?.id, openWhy);
  bench.render(run);
  $('last-seq').textContent = String(ui.model.lastSeq);
  document.body.dataset.lastSeq = String(ui.model.lastSeq);
  $('run-title').textContent = run ? `${run.id}` : 'no run yet';
  $('run-sub').textContent = run ? [run.trainer, run.backend, run.epochs ? `${run.epochs} epochs` : ''].filter(Boolean).join(' · ') : '';
  $('run-latest').innerHTML = run ? latestMetrics(run) : '';
  const charts = $('charts');
  if (!run || run.history.size === 0) {
    for (const entry of ui.charts.values()) {
      entry.plot.destroy();
      entry.el.remove();
    }
    ui.charts.clear();
    $('charts-empty').hidden = false;
    return;
  }
  $('charts-empty').hidden = true;
  renderMetricCharts(charts, ui.charts, run, { model: ui.model, logScale: ui.logScale, smoothing: ui.smoothing });
  renderTimeline($('timeline'), ui.charts, run, { model: ui.model, selected: ui.selectedCheckpoint, picked: bench.selection, onSelect: pickFromTimeline });
}

/** Chips with the newest epoch's metrics. */
function latestMetrics(run) {
  const last = run.history.get(run.epoch) ?? [...run.history.values()].pop();
  if (!last) return '';
  const metrics = Object.keys(last.metrics).sort((a, b) => a.replace(/^val_/, '').localeCompare(b.replace(/^val_/, '')) || a.length - b.length);
  return `<span class="chip-metric">epoch <b>${last.epoch}</b></span>` + metrics.map((m) => `<span class="chip-metric">${m} <b>${Number(last.metrics[m]).toFixed(4)}</b></span>`).join('');
}

let summaryTimer = 0;
function refreshSummary(delay = 150) {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(async () => {
    try {
      ui.summary = await api('/api/summary');
      scheduleRender();
    } catch {
      // the next event retries
    }
  }, delay);
}

/** A timeline marker both opens `why` and adds the checkpoint to (or drops it from) the comparison. */
function pickFromTimeline(checkpoint) {
  bench.toggle(checkpoint);
  openWhy(checkpoint);
}

async function openWhy(checkpoint) {
  ui.selectedCheckpoint = checkpoint;
  const drawer = $('why');
  drawer.hidden = false;
  drawer.dataset.checkpoint = checkpoint;
  renderWhy($('why-body'), null);
  scheduleRender();
  try {
    renderWhy($('why-body'), await api(`/api/why?ref=${encodeURIComponent(checkpoint)}`));
  } catch (error) {
    renderWhy($('why-body'), null, error.message);
  }
}

function connect() {
  // Batch progress and trainer log lines are not drawn; leaving them out keeps a long ledger's replay small.
  // batch=1: the events of one server tick arrive as one message (a JSON array) — one dispatch, not thousands.
  const source = new EventSource(withToken('/api/events?from=1&batch=1&exclude=BatchEnded,TrainerLog'));
  const setConnection = (state, text) => {
    document.body.dataset.connection = state;
    $('connection').textContent = text;
  };
  setConnection('connecting', 'connecting…');
  source.onopen = () => setConnection(ui.model.caughtUp ? 'live' : 'replaying', ui.model.caughtUp ? 'live' : 'replaying…');
  const receive = (event) => {
    const changed = applyEvent(ui.model, event);
    if (changed && ui.model.caughtUp) {
      scheduleRender();
      if (/^Checkpoint|^Backup|^Run|^Prune/.test(event.type)) refreshSummary();
    }
  };
  source.onmessage = (message) => receive(JSON.parse(message.data));
  source.addEventListener('batch', (message) => {
    for (const event of JSON.parse(message.data)) receive(event);
  });
  source.addEventListener('caught-up', () => {
    ui.model.caughtUp = true;
    setConnection('live', 'live');
    refreshSummary(0);
    scheduleRender();
  });
  source.onerror = () => setConnection('reconnecting', 'reconnecting…');
}

function wireControls() {
  bench.wire();
  $('log-scale').addEventListener('change', (e) => {
    ui.logScale = e.target.checked;
    scheduleRender();
  });
  $('smoothing').addEventListener('input', (e) => {
    ui.smoothing = Number(e.target.value);
    $('smoothing-value').textContent = ui.smoothing.toFixed(2);
    scheduleRender();
  });
  const chips = $('kind-filter');
  chips.innerHTML = KINDS.map((k) => `<button class="chip kind ${k} on" data-kind="${k}" aria-pressed="true">${k}</button>`).join('');
  chips.addEventListener('click', (e) => {
    const b = e.target.closest('[data-kind]');
    if (!b) return;
    const kind = b.dataset.kind;
    if (ui.filters.has(kind)) ui.filters.delete(kind);
    else ui.filters.add(kind);
    b.classList.toggle('on', ui.filters.has(kind));
    b.setAttribute('aria-pressed', String(ui.filters.has(kind)));
    scheduleRender();
  });
  $('runs').addEventListener('click', (e) => {
    const li = e.target.closest('[data-run]');
    if (!li) return;
    const newest = ui.model.runOrder[ui.model.runOrder.length - 1];
    ui.selectedRun = li.dataset.run === newest ? null : li.dataset.run;
    const url = new URL(location.href);
    if (ui.selectedRun) url.searchParams.set('run', ui.selectedRun);
    else url.searchParams.delete('run');
    url.searchParams.delete('token'); // the cookie carries it from here on
    history.replaceState(null, '', url);
    scheduleRender();
  });
  $('runs').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') e.target.closest('[data-run]')?.click();
  });
  $('why-close').addEventListener('click', () => {
    $('why').hidden = true;
    ui.selectedCheckpoint = null;
    scheduleRender();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') $('why-close').click();
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(scheduleRender, 100);
  });
  // Lag ticks even when no event arrives.
  setInterval(() => renderRuns($('runs'), ui.model, currentRun()?.id, serverNow()), 1000);
}

async function start() {
  wireControls();
  connect();
  refreshSummary(0); // the store panel paints from JSON without waiting for the replay
  try {
    const sent = Date.now();
    const health = await api('/api/health');
    if (typeof health.now === 'number') ui.clockSkewMs = health.now - (sent + Date.now()) / 2;
    $('where').textContent = health.dir ?? '';
    $('role').textContent = health.role === 'proxy' ? `via owner pid ${health.ownerPid}` : `owner pid ${health.pid}`;
    bench.writes = health.writes ?? 'read-only';
    scheduleRender();
  } catch {
    // shown as reconnecting by the stream
  }
}

const bench = createBench(ui, { api, scheduleRender, openWhy });
window.ckptDashboard = { ui, fmtBytes, bench };
start();
