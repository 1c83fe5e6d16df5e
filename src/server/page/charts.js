// Metric curves (one uPlot chart per metric family: train + validation) and the checkpoint timeline on the
// same x-axis (epochs). Charts are kept and fed new data with setData; rebuilt only when their shape changes.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { bestCheckpoint, latestCheckpoint, monitorsOf } from './model.js';

const AXIS = { stroke: '#8b95a7', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.12)', width: 1 }, font: '11px ui-sans-serif, system-ui, sans-serif' };
const Y_AXIS_SIZE = 80;
const CHART_HEIGHT = 180;
const TIMELINE_HEIGHT = 150;
/** Plot width for a card inside `container` (cards span the container; padding 2×10 px). */
const cardWidth = (container) => Math.max(320, container.clientWidth - 22);
const TRAIN = '#5aa9ff';
const VAL = '#ffa94d';
const EXTRA = ['#b197fc', '#63e6be', '#ff8787', '#ffd43b'];
const SYNC = uPlot.sync('ckpt-epochs');

/** `val_loss` → `loss`: metrics that share a chart. */
export function familyOf(metric) {
  return metric.replace(/^val_/, '');
}

/** Metric families of a run's history, loss first. */
export function familiesOf(run) {
  const names = new Set();
  for (const h of run.history.values()) for (const k of Object.keys(h.metrics)) names.add(k);
  const families = new Map();
  for (const name of [...names].sort()) {
    const f = familyOf(name);
    if (!families.has(f)) families.set(f, []);
    families.get(f).push(name);
  }
  const rank = (f) => (f === 'loss' ? 0 : /loss/.test(f) ? 1 : 2);
  return [...families.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** Exponential moving average, TensorBoard style (debiased). `weight` 0 = raw. */
export function smooth(values, weight) {
  if (!weight) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

export function xRangeOf(run) {
  const epochs = [...run.history.keys()];
  const max = Math.max(run.epochs || 0, ...epochs, 1);
  return [0.5, max + 0.5];
}

function baseOptions(width, height, xRange) {
  return {
    width, height,
    legend: { show: true, live: true },
    cursor: { sync: { key: SYNC.key, setSeries: false }, drag: { x: false, y: false }, points: { size: 6 } },
    scales: { x: { time: false, range: () => xRange } },
    axes: [
      { ...AXIS, size: 30, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? v : '')) },
      { ...AXIS, size: Y_AXIS_SIZE },
    ],
  };
}

/** Vertical dashed lines at crash / resume epochs, drawn on a metric chart's canvas. */
function markerLines(run) {
  return (u) => {
    const { ctx } = u;
    for (const m of run.markers) {
      const x = Math.round(u.valToPos(m.epoch + 0.5, 'x', true));
      ctx.save();
      ctx.strokeStyle = m.kind === 'crash' ? 'rgba(255,107,107,0.7)' : m.kind === 'resume' ? 'rgba(81,207,102,0.6)' : 'rgba(200,200,200,0.5)';
      ctx.setLineDash([4, 4]);
      ctx.lineWidth = devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.restore();
    }
  };
}

/**
 * Create or update one chart per metric family of `run` inside `container`.
 * `charts` is the page's Map of live charts (key → {plot, shape}).
 */
export function renderMetricCharts(container, charts, run, options) {
  const families = familiesOf(run);
  const epochs = [...run.history.keys()].sort((a, b) => a - b);
  const xRange = xRangeOf(run);
  const width = cardWidth(container);
  const monitors = new Set(monitorsOf(options.model, run));
  const wanted = new Set();
  for (const [family, metrics] of families) {
    const key = `metric:${family}`;
    wanted.add(key);
    const shape = JSON.stringify([run.id, metrics, options.logScale, options.smoothing > 0]);
    const columns = metrics.map((m) => epochs.map((e) => {
      const v = run.history.get(e).metrics[m];
      return typeof v === 'number' && Number.isFinite(v) && (!options.logScale || v > 0) ? v : null;
    }));
    const data = [epochs];
    for (const col of columns) {
      if (options.smoothing > 0) data.push(col, smooth(col, options.smoothing));
      else data.push(col);
    }
    let entry = charts.get(key);
    if (entry && entry.shape !== shape) {
      entry.plot.destroy();
      entry.el.remove();
      charts.delete(key);
      entry = undefined;
    }
    if (!entry) {
      const el = document.createElement('section');
      el.className = 'chart-card';
      el.dataset.family = family;
      const title = document.createElement('h3');
      const monitored = metrics.filter((m) => monitors.has(m));
      title.innerHTML = `<span>${escapeHtml(family)}</span>${monitored.map((m) => `<span class="monitor-tag" title="monitored by the policy">★ ${escapeHtml(m)} · ${options.model.monitors.get(m) ?? 'min'}</span>`).join('')}`;
      el.append(title);
      const series = [{ label: 'epoch' }];
      metrics.forEach((m, i) => {
        const color = m.startsWith('val_') ? VAL : metrics.length > 2 ? EXTRA[i % EXTRA.length] : TRAIN;
        const width = monitors.has(m) ? 2.25 : 1.75;
        if (options.smoothing > 0) {
          series.push({ label: `${m} (raw)`, stroke: color + '55', width: 1, points: { show: false } });
          series.push({ label: m, stroke: color, width, points: { show: epochs.length < 40, size: 4, fill: color } });
        } else {
          series.push({ label: m, stroke: color, width, points: { show: epochs.length < 40, size: 4, fill: color } });
        }
      });
      const opts = { ...baseOptions(width, CHART_HEIGHT, xRange), series, hooks: { draw: [markerLines(run)] } };
      opts.scales.y = options.logScale ? { distr: 3 } : { auto: true };
      const plot = new uPlot(opts, data, el);
      container.append(el);
      entry = { plot, el, shape };
      charts.set(key, entry);
    } else {
      entry.plot.setData(data);
    }
    entry.el.dataset.points = String(epochs.length);
    if (entry.plot.width !== width) entry.plot.setSize({ width, height: CHART_HEIGHT });
  }
  for (const [key, entry] of charts) {
    if (key.startsWith('metric:') && !wanted.has(key)) {
      entry.plot.destroy();
      entry.el.remove();
      charts.delete(key);
    }
  }
  // Keep chart cards in family order.
  for (const [family] of families) container.append(charts.get(`metric:${family}`).el);
}

const LANES = [
  { y: 2.5, label: 'checkpoints' },
  { y: 1.5, label: 'decisions' },
  { y: 0.5, label: 'run' },
];

/** The checkpoint timeline: markers as DOM elements over a uPlot chart that shares the metric charts' x-axis. */
export function renderTimeline(container, charts, run, options) {
  const xRange = xRangeOf(run);
  const width = cardWidth(container);
  const epochs = [...run.history.keys()].sort((a, b) => a - b);
  const data = [epochs.length ? epochs : [1], (epochs.length ? epochs : [1]).map(() => null)];
  let entry = charts.get('timeline');
  if (entry && entry.runId !== run.id) {
    entry.plot.destroy();
    entry.el.remove();
    charts.delete('timeline');
    entry = undefined;
  }
  const state = { run, model: options.model, onSelect: options.onSelect, selected: options.selected, picked: options.picked };
  if (!entry) {
    const el = document.createElement('section');
    el.className = 'chart-card timeline';
    el.innerHTML = '<h3><span>checkpoint timeline</span><span class="legend-inline"><i class="dot saved"></i>saved <i class="dot writing"></i>writing <i class="dot pruned"></i>pruned <i class="dot backed"></i>backed up <i class="dot pinned"></i>pinned <b class="star-key">★</b>best <i class="x">×</i>skipped <i class="crash">⚡</i>crash <i class="resume">↻</i>resume</span></h3>';
    const opts = {
      ...baseOptions(width, TIMELINE_HEIGHT, xRange),
      legend: { show: false },
      series: [{}, { stroke: 'transparent' }],
      hooks: { draw: [(u) => placeMarkers(u, entry.state)] },
    };
    opts.scales.y = { range: [0, 3] };
    opts.axes[1] = { ...AXIS, size: Y_AXIS_SIZE, splits: () => LANES.map((l) => l.y), values: () => LANES.map((l) => l.label), grid: { show: false }, ticks: { show: false } };
    entry = { el, runId: run.id, state };
    const plot = new uPlot(opts, data, el);
    entry.plot = plot;
    container.append(el);
    charts.set('timeline', entry);
  } else {
    entry.state = state;
    entry.plot.setData(data);
  }
  if (entry.plot.width !== width) entry.plot.setSize({ width, height: TIMELINE_HEIGHT });
  placeMarkers(entry.plot, entry.state);
}

function placeMarkers(u, state) {
  if (!state) return;
  const { run, model } = state;
  let layer = u.over.querySelector('.markers');
  if (!layer) {
    layer = document.createElement('div');
    layer.className = 'markers';
    u.over.append(layer);
  }
  const px = (epoch) => u.valToPos(epoch, 'x');
  const py = (lane) => u.valToPos(lane, 'y');
  const parts = [];
  const best = new Map();
  for (const monitor of monitorsOf(model, run)) {
    const c = bestCheckpoint(model, monitor, run.id);
    if (c) best.set(monitor, c);
  }
  const latest = latestCheckpoint(model, run.id);
  const stacked = new Map();
  for (const id of run.checkpoints) {
    const c = model.checkpoints.get(id);
    const classes = ['marker', 'ckpt', c.status === 'kept' ? 'saved' : c.status];
    if (c.backups.length) classes.push('backed-up');
    if (state.selected === id) classes.push('selected');
    if (state.picked?.includes(id)) classes.push('picked');
    if (c.pinned) classes.push('pinned');
    const bestFor = [...best].filter(([, b]) => b.id === id).map(([m]) => m);
    const n = stacked.get(c.epoch) ?? 0;
    stacked.set(c.epoch, n + 1);
    const x = px(c.epoch) + n * 6;
    const title = `${id} · epoch ${c.epoch} · ${c.status}${c.backups.length ? ' · backed up' : ''}${bestFor.length ? ` · best ${bestFor.join(', ')}` : ''}${latest?.id === id ? ' · latest' : ''}${c.pinned ? ' · pinned' : ''}\n${fmtMetrics(c.metrics)}\nclick: why, and pick it for the comparison`;
    parts.push(`<button class="${classes.join(' ')}" style="left:${x}px;top:${py(2.5)}px" data-checkpoint="${attr(id)}" data-epoch="${c.epoch}" title="${attr(title)}"></button>`);
    bestFor.forEach((monitor, i) => {
      parts.push(`<span class="marker star" style="left:${x}px;top:${py(2.5) - 16 - i * 12}px" data-monitor="${attr(monitor)}" data-checkpoint="${attr(id)}" data-epoch="${c.epoch}" title="best ${attr(monitor)}: ${attr(String(c.metrics[monitor]))}">★</span>`);
    });
    const badges = [];
    if (bestFor.length) badges.push('<b class="badge best">best</b>');
    if (latest?.id === id) badges.push('<b class="badge latest">latest</b>');
    if (badges.length) parts.push(`<span class="badges" style="left:${x}px;top:${py(2.5) + 9}px" data-checkpoint="${attr(id)}">${badges.join('')}</span>`);
  }
  // A save decided but not committed yet (the bytes are being written): a pulsing ring, until its commit lands.
  // After a crash an uncommitted save was abandoned, so only saves newer than the last crash count.
  const lastCrash = Math.max(0, ...run.markers.filter((m) => m.kind === 'crash').map((m) => m.seq));
  for (const d of model.decisions) {
    if (d.run !== run.id || d.kind !== 'save' || d.seq < lastCrash || d.epoch == null || model.commitByDecision.has(d.seq)) continue;
    parts.push(`<span class="marker pending" style="left:${px(d.epoch)}px;top:${py(2.5)}px" data-epoch="${d.epoch}" title="${attr(`epoch ${d.epoch}: save decided, writing… (${d.reason})`)}"></span>`);
  }
  for (const s of run.skips) {
    parts.push(`<span class="marker skip" style="left:${px(s.epoch)}px;top:${py(1.5)}px" data-epoch="${s.epoch}" title="${attr(`epoch ${s.epoch}: ${s.reason}`)}">×</span>`);
  }
  for (const d of model.decisions) {
    if (d.run !== run.id || !['stop', 'restore', 'warn'].includes(d.kind) || d.epoch == null) continue;
    parts.push(`<span class="marker decision ${d.kind}" style="left:${px(d.epoch)}px;top:${py(1.5)}px" data-epoch="${d.epoch}" title="${attr(`${d.kind}: ${d.reason}`)}">${d.kind === 'stop' ? '■' : d.kind === 'restore' ? '⟲' : '!'}</span>`);
  }
  for (const m of run.markers) {
    const symbol = m.kind === 'crash' ? '⚡' : m.kind === 'resume' ? '↻' : '■';
    const offset = m.kind === 'crash' ? 0.35 : m.kind === 'resume' ? 0.65 : 0.5;
    parts.push(`<span class="marker ${m.kind}" style="left:${px(m.epoch + offset)}px;top:${py(0.5)}px" data-epoch="${m.epoch}" title="${attr(`${m.kind} after epoch ${m.epoch}: ${m.reason}`)}">${symbol}</span>`);
  }
  layer.innerHTML = parts.join('');
  layer.onclick = (e) => {
    const target = e.target.closest('[data-checkpoint]');
    if (target) state.onSelect?.(target.dataset.checkpoint);
  };
}

function fmtMetrics(metrics) {
  return Object.keys(metrics).sort().map((k) => `${k}=${typeof metrics[k] === 'number' ? metrics[k].toFixed(4) : metrics[k]}`).join('  ');
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
const attr = escapeHtml;
