// The checkpoint table and the comparison: rows from the page model (the ledger's fold), a selection made by
// clicking rows or timeline markers, and `ckpt diff` data (GET /api/diff, one request per checkpoint against
// the first selected) drawn as metrics side by side and per-tensor distance.
import { escapeHtml as h } from './charts.js';
import { metricMode, monitorsOf } from './model.js';
import { fmtBytes } from './panels.js';

const num = (v, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : '—');
/** A delta is better when it moves the metric its monitor's way (min: down, max: up). */
const verdict = (delta, mode) => (typeof delta !== 'number' || delta === 0 ? '' : (delta < 0) === (mode === 'min') ? 'better' : 'worse');
const signed = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v > 0 ? '+' : ''}${num(v)}` : '—');

/** Metric columns: the monitored ones first, then the usual, at most four (as `ckpt ls`). */
function metricColumns(rows, model, run) {
  const present = new Set(rows.flatMap((c) => Object.keys(c.metrics)));
  const preferred = [...monitorsOf(model, run), 'val_loss', 'val_acc', 'loss', 'acc'];
  const columns = [...new Set(preferred.filter((m) => present.has(m)))];
  for (const m of [...present].sort()) if (!columns.includes(m)) columns.push(m);
  return columns.slice(0, 4);
}

/** Marks of a checkpoint: ★ best per monitor, latest, pinned, tags. */
function marks(c, bests, latestId) {
  const out = bests.filter(([, id]) => id === c.id).map(([m]) => `<span class="badge best">★ ${h(m)}</span>`);
  if (c.id === latestId) out.push('<span class="badge latest">latest</span>');
  if (c.pinned) out.push('<span class="badge pinned" data-pinned>pinned</span>');
  for (const t of c.tags) out.push(`<span class="badge tag">${h(t)}</span>`);
  return out.join(' ');
}

/**
 * The checkpoint table of `run` (every run when none), newest first.
 * @param {{ bests: [string, string][], latestId?: string, selection: string[], focused?: string }} view
 */
export function renderCheckpointTable(head, body, model, run, view) {
  const rows = [...model.checkpoints.values()].filter((c) => !run || c.run === run.id).reverse();
  const columns = metricColumns(rows, model, run);
  head.innerHTML = `<tr><th></th><th>checkpoint</th><th>epoch</th>${columns.map((m) => `<th class="num">${h(m)}</th>`).join('')}<th class="num">size</th><th>status</th><th>marks</th></tr>`;
  if (rows.length === 0) {
    body.innerHTML = `<tr><td colspan="${columns.length + 6}" class="empty">No checkpoints yet.</td></tr>`;
    return;
  }
  body.innerHTML = rows.map((c) => {
    const picked = view.selection.indexOf(c.id);
    const classes = ['ckpt-row', c.status, picked >= 0 ? 'picked' : '', c.id === view.focused ? 'focused' : ''].filter(Boolean).join(' ');
    return `<tr class="${classes}" data-checkpoint="${h(c.id)}" data-status="${c.status}" data-pinned="${c.pinned}" tabindex="0" title="click to add to the comparison; click the id for why and actions">
      <td class="pick">${picked >= 0 ? `<b class="pick-n">${picked + 1}</b>` : '<i class="pick-box"></i>'}</td>
      <td class="id"><button class="link" data-open="${h(c.id)}">${h(c.id)}</button></td><td class="num">${c.epoch}</td>
      ${columns.map((m) => `<td class="num">${num(c.metrics[m])}</td>`).join('')}
      <td class="num" title="${c.bytes.logical} bytes (new in the store: ${c.bytes.new} bytes)">${fmtBytes(c.bytes.logical)}</td>
      <td><span class="status ${c.status === 'kept' ? 'finished' : c.status === 'pruned' ? 'pruned' : 'crashed'}">${c.status}</span></td>
      <td class="marks">${marks(c, view.bests, view.latestId)}${c.description ? ` <span class="dim" title="description">${h(c.description)}</span>` : ''}</td>
    </tr>`;
  }).join('');
}

/**
 * The comparison of `diffs` (each `ckpt diff <base> <other> --json`): metrics side by side with deltas, then
 * per-tensor L2 distance and max |Δ| against the base.
 */
export function renderComparison(el, diffs, error, monitors = new Map()) {
  if (error) {
    el.hidden = false;
    el.innerHTML = `<p class="bad" data-code="${h(error.code ?? '')}">${h(error.message)}</p>`;
    return;
  }
  if (!diffs || diffs.length === 0) {
    el.hidden = true;
    el.innerHTML = '';
    return;
  }
  const base = diffs[0].a;
  const others = diffs.map((d) => d.b);
  const metrics = [...new Set(diffs.flatMap((d) => d.metrics.map((m) => m.metric)))].sort();
  const value = (d, metric) => d.metrics.find((m) => m.metric === metric);
  const tensorNames = [...new Set(diffs.flatMap((d) => (d.tensors ?? []).map((t) => t.name)))];
  const tensor = (d, name) => (d.tensors ?? []).find((t) => t.name === name);
  el.hidden = false;
  el.dataset.base = base.id;
  el.dataset.others = others.map((o) => o.id).join(',');
  el.innerHTML = `<div class="compare-head"><h3>Comparing <span class="mono">${h(base.id)}</span> <span class="dim">(${h(base.run)}, epoch ${base.epoch})</span> with ${others.map((o) => `<span class="mono">${h(o.id)}</span> <span class="dim">(epoch ${o.epoch})</span>`).join(', ')}</h3>
    <span class="dim">same data as <code>npx ckpt diff ${h(base.id)} ${h(others[0].id)}</code></span></div>
    <div class="compare-grid">
    <table class="compare metrics"><thead><tr><th>metric</th><th class="num">${h(base.id)}</th>${others.map((o) => `<th class="num">${h(o.id)}</th><th class="num">Δ</th>`).join('')}</tr></thead><tbody>
    ${metrics.map((m) => `<tr><td>${h(m)}</td><td class="num">${num(value(diffs[0], m)?.a)}</td>${diffs.map((d) => {
      const row = value(d, m);
      return `<td class="num" data-metric="${h(m)}" data-checkpoint="${h(d.b.id)}" data-value="${row?.b ?? ''}">${num(row?.b)}</td><td class="num delta ${verdict(row?.delta, monitors.get(m) ?? metricMode(m))}">${signed(row?.delta)}</td>`;
    }).join('')}</tr>`).join('')}
    </tbody></table>
    <table class="compare tensors"><thead><tr><th>tensor</th><th>shape</th>${others.map((o) => `<th class="num">L2 ${h(o.id)}</th><th class="num">max |Δ|</th>`).join('')}</tr></thead><tbody>
    ${tensorNames.map((name) => {
      const first = diffs.map((d) => tensor(d, name)).find(Boolean);
      return `<tr><td class="mono">${h(name)}</td><td class="mono dim">${h(first.dtype)} [${first.shape.join(',')}]</td>${diffs.map((d) => {
        const t = tensor(d, name);
        return `<td class="num l2" data-tensor="${h(name)}" data-checkpoint="${h(d.b.id)}" data-value="${t?.l2 ?? ''}">${t ? (t.l2 === null ? h(t.note ?? '—') : num(t.l2)) : '—'}</td><td class="num">${t && t.maxAbs !== null ? num(t.maxAbs) : '—'}</td>`;
      }).join('')}</tr>`;
    }).join('')}
    </tbody></table></div>`;
}
