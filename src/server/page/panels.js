// The page's non-chart panels: run list, decision log, policy configuration, store summary, why drawer.
import { escapeHtml as h } from './charts.js';
import { displayStatus } from './model.js';

export function fmtAgo(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 1) return 'now';
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.floor(seconds % 60)}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** Decimal units (1 MB = 10^6 bytes), formatted exactly as the CLI's formatBytes (src/cli/format.ts). */
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`;
}

export function renderRuns(el, model, selectedId, now) {
  if (model.runOrder.length === 0) {
    el.innerHTML = '<p class="empty">No runs yet. Start one with <code>ckpt train --serve</code>.</p>';
    return;
  }
  el.innerHTML = [...model.runOrder].reverse().map((id) => {
    const r = model.runs.get(id);
    const status = displayStatus(r);
    const lag = Math.max(0, (now - r.lastAt) / 1000);
    const progress = r.epochs ? Math.min(100, (r.epoch / r.epochs) * 100) : 0;
    const live = status === 'running' || status === 'resumed';
    return `<li class="run${id === selectedId ? ' selected' : ''}" data-run="${h(id)}" data-status="${status}" tabindex="0">
      <div class="run-head"><span class="run-id">${h(id)}</span><span class="status ${status}">${status}</span></div>
      <div class="progress"><i style="width:${progress.toFixed(1)}%"></i></div>
      <div class="run-meta"><span>epoch ${r.epoch}${r.epochs ? ` / ${r.epochs}` : ''}</span><span class="lag${live && lag > 30 ? ' stale' : ''}" data-lag="${lag.toFixed(1)}" title="seconds since the run's last event">${live ? 'lag' : 'last'} ${fmtAgo(lag)}</span></div>
      <div class="run-meta dim"><span>${h(r.trainer)} · ${h(r.backend)}</span><span>${r.checkpoints.length} ckpt${r.crashes ? ` · ${r.crashes} crash` : ''}${r.resumes ? ` · ${r.resumes} resume` : ''}</span></div>
    </li>`;
  }).join('');
}

export function renderDecisions(el, model, filters, runId, onWhy) {
  const rows = model.decisions.filter((d) => (!runId || d.run === runId) && filters.has(d.kind));
  const shown = rows.slice(-400).reverse();
  const any = model.decisions.some((d) => !runId || d.run === runId);
  el.innerHTML = shown.length === 0
    ? `<tr><td colspan="6" class="empty">${any ? 'No decisions match the filter.' : 'No decisions yet.'}</td></tr>`
    : shown.map((d) => {
      const ckpt = d.checkpoint ?? (d.kind === 'save' ? model.commitByDecision.get(d.seq) : undefined);
      const value = typeof d.value === 'number' ? d.value.toFixed(4) : '';
      return `<tr class="decision ${d.kind}" data-kind="${d.kind}" data-seq="${d.seq}">
        <td class="num">#${d.seq}</td><td class="num">${d.epoch ?? ''}</td>
        <td><span class="kind ${d.kind}">${d.kind}</span></td>
        <td class="rule">${h(d.rule ?? '')}${d.monitor ? ` <span class="dim">${h(d.monitor)}${value ? ` ${value}` : ''}</span>` : ''}</td>
        <td class="reason">${h(d.reason ?? '')}</td>
        <td>${ckpt ? `<button class="link why-link" data-checkpoint="${h(ckpt)}">${h(ckpt)}</button>` : ''}</td>
      </tr>`;
    }).join('');
  el.onclick = (e) => {
    const b = e.target.closest('[data-checkpoint]');
    if (b) onWhy(b.dataset.checkpoint);
  };
}

export function renderPolicy(el, run) {
  if (!run) {
    el.innerHTML = '<p class="empty">—</p>';
    return;
  }
  const entries = flatten(run.policy ?? {});
  el.innerHTML = entries.length === 0
    ? '<p class="empty">No policy recorded.</p>'
    : `<dl class="kv">${entries.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join('')}</dl>`;
}

/** Policy fields worth showing: set values only (null / empty lists are the defaults), nested keys dotted. */
function flatten(obj, prefix = '', out = []) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (Array.isArray(v)) out.push([key, v.map((x) => (x && typeof x === 'object' ? compact(x) : String(x))).join(', ')]);
    else if (typeof v === 'object') flatten(v, key, out);
    else out.push([key, String(v)]);
  }
  return out;
}

function compact(obj) {
  return Object.entries(obj).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}`).join(' ');
}

export function renderStore(el, summary) {
  if (!summary) {
    el.innerHTML = '<p class="empty">loading…</p>';
    return;
  }
  const b = summary.bytes ?? {};
  const c = summary.checkpoints ?? {};
  el.innerHTML = `<dl class="kv">
    <dt>checkpoints</dt><dd><b>${c.kept ?? 0}</b> kept · ${c.pruned ?? 0} pruned${c.pinned ? ` · ${c.pinned} pinned` : ''}${c.corrupt ? ` · <span class="bad">${c.corrupt} corrupt</span>` : ''}</dd>
    <dt>logical</dt><dd>${fmtBytes(b.logical)}</dd>
    <dt>on disk</dt><dd>${fmtBytes(b.physical)}</dd>
    <dt>dedupe</dt><dd data-dedupe="${b.dedupeRatio ?? ''}"><b>${b.dedupeRatio ? `${b.dedupeRatio.toFixed(2)}×` : '—'}</b></dd>
    <dt>best</dt><dd>${summary.best ? `${h(summary.best.checkpoint.id)} <span class="dim">${h(summary.best.monitor)} ${Number(summary.best.value).toFixed(4)}</span>` : '—'}</dd>
    <dt>latest</dt><dd>${summary.latest ? h(summary.latest.id) : '—'}</dd>
    <dt>ledger</dt><dd>${summary.lastSeq} events</dd>
  </dl>`;
}

export function renderWhy(el, answer, error) {
  if (error) {
    el.innerHTML = `<p class="bad">${h(error)}</p>`;
    return;
  }
  if (!answer) {
    el.innerHTML = '<p class="empty">loading…</p>';
    return;
  }
  el.innerHTML = `<h2>${h(answer.id)} <span class="status ${answer.status === 'kept' ? 'finished' : 'crashed'}">${h(answer.status)}</span>${answer.pinned ? ' <span class="badge">pinned</span>' : ''}${answer.isLatest ? ' <b class="badge latest">latest</b>' : ''}${answer.best.some((b) => b.isBest) ? ' <b class="badge best">best</b>' : ''}</h2>
    <p class="dim">${h(answer.run)} · epoch ${answer.epoch}</p>
    <ul class="why-summary">${answer.summary.map((s) => `<li>${h(s)}</li>`).join('')}</ul>
    <h4>chain of events</h4>
    <ol class="chain">${answer.chain.map((t) => `<li><span class="num">#${t.seq}</span> <span class="dim">${new Date(t.at).toLocaleTimeString()}</span> ${h(t.text)}</li>`).join('')}</ol>`;
}
