/**
 * The dashboard's writes, `POST /api/actions/<action>` with a JSON body. Each one calls exactly what its CLI
 * twin calls — the CLI's ref resolver (`resolveStoreRef`) and the store's method — so the ledger records the
 * same event either way: pin → CheckpointPinned, unpin → CheckpointUnpinned, tag (and describe) →
 * CheckpointTagged, prune → PruneIntended (rule `manual`, your reason) + CheckpointPruned, verify →
 * CheckpointVerified / Corrupted / Missing, export → CheckpointExported. Access is checked before (write-access.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveStoreRef } from '../cli/workspace.js';
import { CkptError } from '../errors.js';
import type { CheckpointStore, VerifyResult } from '../store/index.js';
import { exportForDownload } from './export-download.js';
import { ACTIONS_PREFIX, sendJson } from './http-server.js';
import { optionalString, readJsonBody, requireString } from './request-body.js';
import { toJson } from './sse.js';

const REF_HINT = 'a checkpoint id, best, best:<metric>, latest or epoch:<N>';
type Body = Record<string, unknown>;
type Action = (store: CheckpointStore, body: Body, res: ServerResponse) => Promise<unknown>;

/** The id a ref means, by the CLI's resolver (`ckpt pin <ref>` uses it; unknown → CLI_REF_UNKNOWN, 404). */
function resolveRef(store: CheckpointStore, body: Body): string {
  return resolveStoreRef({ store }, requireString(body, 'ref', REF_HINT));
}

const ACTIONS: Record<string, Action> = {
  async pin(store, body) {
    return { ...(await store.pin(await resolveRef(store, body), optionalString(body, 'reason'))), pinned: true };
  },
  async unpin(store, body) {
    return { ...(await store.unpin(await resolveRef(store, body), optionalString(body, 'reason'))), pinned: false };
  },
  async tag(store, body) {
    const raw = body.tags ?? [];
    if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string')) throw new CkptError('SERVER_BAD_REQUEST', '"tags" must be a list of strings, e.g. ["shipped"]');
    const tags = (raw as string[]).map((t) => t.trim()).filter(Boolean);
    const description = optionalString(body, 'description');
    if (tags.length === 0 && description === undefined) throw new CkptError('SERVER_BAD_REQUEST', 'give at least one tag or a description');
    return store.tag(await resolveRef(store, body), tags, description);
  },
  async prune(store, body) {
    const id = await resolveRef(store, body);
    const reason = requireString(body, 'reason', 'why this checkpoint goes (it is recorded in the ledger)');
    const user = process.env.USER ?? process.env.USERNAME ?? 'user';
    return store.prune(id, { reason: `${reason} (by ${user} via the dashboard)` });
  },
  async verify(store, body, res) {
    const ids = body.ref === undefined || body.ref === null ? undefined : [await resolveRef(store, body)];
    // NDJSON: one progress line per checkpoint as it is hashed, then the document `ckpt verify --json` prints.
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    const results: VerifyResult[] = await store.verify(ids, (result, done, total) => {
      res.write(`${toJson({ type: 'progress', done, total, result })}\n`);
    });
    const failed = results.filter((r) => !r.ok).map((r) => r.checkpoint);
    res.end(`${toJson({ type: 'done', ok: failed.length === 0, checked: results.length, failed, results })}\n`);
    return undefined;
  },
  async export(store, body, res) {
    const id = await resolveRef(store, body);
    const download = await exportForDownload(store, id, requireString(body, 'format', 'tfjs, safetensors or bundle'), body.includeOptimizer === true);
    res.writeHead(200, {
      'content-type': download.contentType,
      'content-length': download.body.byteLength,
      'content-disposition': `attachment; filename="${download.filename}"`,
      'cache-control': 'no-store',
      'x-ckpt-export': toJson({ checkpoint: download.result.checkpoint, format: download.result.format, bytes: download.result.bytes }),
    });
    res.end(download.body);
    return undefined;
  },
};

/** The action names, for errors and docs. */
export const ACTION_NAMES = Object.keys(ACTIONS);

/**
 * Answer one action request against `store`.
 * @example await handleAction(store, req, res, new URL('http://x/api/actions/pin'))
 */
export async function handleAction(store: CheckpointStore, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const name = url.pathname.slice(ACTIONS_PREFIX.length);
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!action) throw new CkptError('SERVER_NOT_FOUND', `no action "${name}"; actions are ${ACTION_NAMES.join(', ')}`);
  const answer = await action(store, await readJsonBody(req), res);
  if (answer !== undefined) sendJson(res, 200, answer);
}
