// The page's writes: POST /api/actions/<name> with the per-run token in the X-Ckpt-Token header (never a cookie),
// the drawer's action bar (pin / unpin, tag and describe, verify, export, prune), verify progress read from the
// NDJSON answer, and exports downloaded as files. What changed arrives back through the event stream.
import { escapeHtml as h } from './charts.js';

const TOKEN_KEY = 'ckpt-write-token';

/** The write token: from `?token=` (then kept for this tab and removed from the address bar), else the tab's. */
export function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  return fromUrl ?? sessionStorage.getItem(TOKEN_KEY);
}

/** A coded error from an `{error: {code, message}}` answer. */
async function failure(res) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  const error = new Error(body?.error?.message ?? `HTTP ${res.status}`);
  error.code = body?.error?.code ?? `HTTP_${res.status}`;
  return error;
}

export function createWriter(token) {
  const post = (name, body) => fetch(`/api/actions/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ckpt-token': token ?? '', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    token,
    /** pin, unpin, tag, prune: the JSON `ckpt <action> --json` prints. */
    async act(name, body) {
      const res = await post(name, body);
      if (!res.ok) throw await failure(res);
      return res.json();
    },
    /** Verify `ref` (or every unpruned checkpoint when undefined), calling onProgress(done, total, result). */
    async verify(ref, onProgress) {
      const res = await post('verify', ref ? { ref } : {});
      if (!res.ok) throw await failure(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      let last;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        const lines = buffered.split('\n');
        buffered = lines.pop();
        for (const line of lines.filter(Boolean)) {
          const message = JSON.parse(line);
          if (message.type === 'progress') onProgress(message.done, message.total, message.result);
          else last = message;
        }
      }
      return last;
    },
    /** Export and save the file the server sends (a zip for tfjs). */
    async download(ref, format) {
      const res = await post('export', { ref, format });
      if (!res.ok) throw await failure(res);
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${ref}.${format}`;
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await res.blob());
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      return name;
    },
  };
}

/**
 * The drawer's action bar for checkpoint `c` (from the page model). `writes` is /api/health's `writes`.
 */
export function renderActions(el, c, writes, hasToken) {
  if (!c) {
    el.innerHTML = '';
    return;
  }
  const why = writes === 'read-only' ? 'this server is read-only (--read-only)'
    : writes === 'owner-elsewhere' ? 'a running `ckpt train` owns this directory: act from the page it printed'
    : !hasToken ? 'open the page at the URL ckpt printed (…/?token=…) to act' : '';
  const off = why ? ` disabled title="${h(why)}"` : '';
  const gone = c.status === 'pruned';
  el.dataset.checkpoint = c.id;
  el.innerHTML = `${why ? `<p class="note" data-note="writes">${h(why)}</p>` : ''}
    <div class="act-row">
      ${c.pinned
        ? `<button class="btn" data-action="unpin"${off}>unpin</button>`
        : `<button class="btn" data-action="pin"${off || (gone ? ' disabled' : '')}>pin</button>`}
      <input class="field" name="pin-reason" placeholder="reason (recorded)"${off}>
    </div>
    <div class="act-row">
      <input class="field" name="tags" placeholder="tags, comma separated"${off}>
      <input class="field" name="description" placeholder="description" value="${h(c.description ?? '')}"${off}>
      <button class="btn" data-action="tag"${off}>tag</button>
    </div>
    <div class="act-row">
      <button class="btn" data-action="verify"${off || (gone ? ' disabled' : '')}>verify</button>
      <select class="field" name="format"${off || (gone ? ' disabled' : '')}><option value="tfjs">tfjs model (.zip)</option><option value="safetensors">safetensors</option><option value="bundle">bundle (.ckpt)</option></select>
      <button class="btn" data-action="export"${off || (gone ? ' disabled' : '')}>download</button>
    </div>
    <div class="act-row">
      <input class="field" name="prune-reason" placeholder="why prune it (required)"${off || (gone ? ' disabled' : '')}>
      <button class="btn danger" data-action="prune"${off || (gone || c.pinned ? ` disabled title="${c.pinned ? 'pinned: unpin it first' : 'already pruned'}"` : '')}>prune</button>
    </div>`;
}

/** What the action bar's inputs say, for the action `name`. */
export function actionBody(el, name, ref) {
  const value = (field) => el.querySelector(`[name="${field}"]`)?.value.trim() ?? '';
  if (name === 'pin' || name === 'unpin') return { ref, ...(value('pin-reason') ? { reason: value('pin-reason') } : {}) };
  if (name === 'tag') return { ref, tags: value('tags').split(',').map((t) => t.trim()).filter(Boolean), ...(value('description') ? { description: value('description') } : {}) };
  if (name === 'prune') return { ref, reason: value('prune-reason') };
  return { ref, format: value('format') };
}
