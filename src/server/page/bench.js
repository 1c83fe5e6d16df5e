// The workbench's wiring: the checkpoint table and timeline choose checkpoints to compare, the drawer's action
// bar acts on the focused one, and "verify all" shows its progress. Data comes from the page model and the API.
import { actionBody, createWriter, renderActions, takeToken } from './actions.js';
import { bestCheckpoint, latestCheckpoint, monitorsOf } from './model.js';
import { renderCheckpointTable, renderComparison } from './workbench.js';

const $ = (id) => document.getElementById(id);

export function createBench(ui, { api, scheduleRender, openWhy }) {
  const writer = createWriter(takeToken());
  const bench = { selection: [], writes: 'read-only', writer, diffs: null };

  const toast = (text, kind = 'ok', code = '') => {
    const el = $('toast');
    el.textContent = text;
    el.className = `toast ${kind}`;
    el.dataset.code = code;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (el.hidden = true), 6000);
  };

  bench.toggle = (id) => {
    const at = bench.selection.indexOf(id);
    if (at >= 0) bench.selection.splice(at, 1);
    else bench.selection.push(id);
    scheduleRender();
  };

  async function compare() {
    const [base, ...others] = bench.selection;
    $('compare').disabled = true;
    try {
      bench.diffs = await Promise.all(others.map((b) => api(`/api/diff?a=${encodeURIComponent(base)}&b=${encodeURIComponent(b)}`)));
      renderComparison($('compare-view'), bench.diffs, null, ui.model.monitors);
      $('compare-view').scrollIntoView({ block: 'nearest' });
    } catch (error) {
      renderComparison($('compare-view'), null, error);
    } finally {
      scheduleRender();
    }
  }

  async function verify(ref) {
    const bar = $('verify-progress');
    const status = $('verify-status');
    bar.hidden = false;
    bar.value = 0;
    status.textContent = 'verifying…';
    try {
      const done = await writer.verify(ref, (n, total, result) => {
        bar.max = total;
        bar.value = n;
        status.textContent = `${n} / ${total} · ${result.checkpoint} ${result.ok ? 'ok' : result.fault?.kind ?? 'bad'}`;
      });
      status.dataset.ok = String(done.ok);
      status.textContent = done.ok ? `${done.checked} verified, all ok` : `${done.failed.join(', ')} ${done.failed.length === 1 ? 'is' : 'are'} corrupt or missing (of ${done.checked})`;
      toast(status.textContent, done.ok ? 'ok' : 'bad');
    } catch (error) {
      status.textContent = error.message;
      toast(error.message, 'bad', error.code);
    }
  }

  async function act(name) {
    const el = $('actions');
    const ref = el.dataset.checkpoint;
    try {
      if (name === 'verify') return await verify(ref);
      const body = actionBody(el, name, ref);
      if (name === 'export') return toast(`downloaded ${await writer.download(ref, body.format)}`);
      const result = await writer.act(name, body);
      toast(`${name} ${result.checkpoint}: recorded in the ledger`);
    } catch (error) {
      toast(`${error.code ?? 'ERROR'}: ${error.message}`, 'bad', error.code);
    }
  }

  bench.wire = () => {
    $('checkpoints').addEventListener('click', (e) => {
      const open = e.target.closest('[data-open]');
      if (open) return openWhy(open.dataset.open);
      const row = e.target.closest('tr[data-checkpoint]');
      if (row) bench.toggle(row.dataset.checkpoint);
    });
    $('checkpoints').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') e.target.closest('tr[data-checkpoint]')?.click();
    });
    $('compare').addEventListener('click', compare);
    $('clear-selection').addEventListener('click', () => {
      bench.selection = [];
      bench.diffs = null;
      renderComparison($('compare-view'), null);
      scheduleRender();
    });
    $('verify-all').addEventListener('click', () => verify(undefined));
    $('actions').addEventListener('click', (e) => {
      const b = e.target.closest('[data-action]');
      if (b && !b.disabled) act(b.dataset.action);
    });
  };

  bench.render = (run) => {
    const bests = monitorsOf(ui.model, run).map((m) => [m, bestCheckpoint(ui.model, m, run?.id)?.id]);
    renderCheckpointTable($('checkpoint-head'), $('checkpoints'), ui.model, run, {
      bests, latestId: latestCheckpoint(ui.model, run?.id)?.id, selection: bench.selection, focused: ui.selectedCheckpoint,
    });
    const n = bench.selection.length;
    $('selection').textContent = n === 0 ? 'click rows or timeline markers to compare' : `${n} selected: ${bench.selection.join(', ')}`;
    $('compare').disabled = n < 2;
    $('clear-selection').hidden = n === 0;
    const canWrite = bench.writes === 'token' && Boolean(writer.token);
    $('verify-all').disabled = !canWrite;
    document.body.dataset.writes = canWrite ? 'on' : 'off';
    const focused = ui.selectedCheckpoint ? ui.model.checkpoints.get(ui.selectedCheckpoint) : undefined;
    const el = $('actions');
    // Re-render the bar only when what it shows changed, so typing in its inputs is not wiped by live events.
    const key = focused ? `${focused.id}|${focused.status}|${focused.pinned}|${bench.writes}` : '';
    if (el.dataset.key !== key) {
      el.dataset.key = key;
      renderActions(el, focused, bench.writes, Boolean(writer.token));
    }
  };

  return bench;
}
