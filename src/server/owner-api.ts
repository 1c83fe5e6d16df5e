/**
 * The API of a process that has the ledger open: `/api/health`, the SSE stream `/api/events`, the view
 * routes, `/api/diff`, and — given the store — the actions (`/api/actions/*`, POST; see actions.ts). Used by the owner server and by `ckpt serve` after it takes a ledger over.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ledger } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import type { CheckpointStore } from '../store/index.js';
import { handleAction } from './actions.js';
import { answerDiff } from './diff-route.js';
import { ACTIONS_PREFIX, sendJson } from './http-server.js';
import { streamLedgerEvents } from './sse.js';
import { answerView, VIEW_ROUTES } from './view-routes.js';

export interface LedgerApi {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** End every open event stream (clients resume elsewhere with Last-Event-ID). */
  close(): void;
}

/**
 * @example const api = createLedgerApi(ledger, { dir }); await startHttpShell({}, api.handle)
 */
export function createLedgerApi(ledger: Ledger, options: { dir: string; heartbeatMs?: number; startedAt?: number; store?: CheckpointStore; writeToken?: string }): LedgerApi {
  const streams = new Set<() => void>();
  const startedAt = options.startedAt ?? Date.now();
  return {
    async handle(req, res, url) {
      const q = url.searchParams;
      if (url.pathname === '/api/health') {
        sendJson(res, 200, { ok: true, role: 'owner', pid: process.pid, lastSeq: ledger.lastSeq, startedAt, now: Date.now(), dir: options.dir, writes: options.store && options.writeToken ? 'token' : 'read-only' });
        return;
      }
      if (url.pathname.startsWith(ACTIONS_PREFIX)) {
        // The shell let this through only with the write token; a server without a store cannot act.
        if (!options.store) throw new CkptError('SERVER_READ_ONLY', 'this server cannot change the ledger (it has no store open)');
        await handleAction(options.store, req, res, url);
        return;
      }
      if (url.pathname === '/api/diff') {
        sendJson(res, 200, await answerDiff(ledger, options.dir, q));
        return;
      }
      if (url.pathname === '/api/events') {
        const list = (name: string) => (q.get(name) ? new Set(q.get(name)!.split(',').filter(Boolean)) : undefined);
        const end = streamLedgerEvents(req, res, ledger, {
          from: q.get('from') === null ? undefined : Number(q.get('from')),
          types: list('types'),
          exclude: list('exclude'),
          batch: q.get('batch') === '1',
          heartbeatMs: options.heartbeatMs,
        });
        streams.add(end);
        res.on('close', () => streams.delete(end));
        return;
      }
      const answer = await answerView(ledger, url.pathname, q);
      if (!answer) {
        throw new CkptError('SERVER_NOT_FOUND', `no API endpoint ${url.pathname}; try ${['/api/health', '/api/events', '/api/diff', ...Object.keys(VIEW_ROUTES)].join(', ')}`);
      }
      sendJson(res, 200, answer.body);
    },
    close() {
      for (const end of streams) end();
      streams.clear();
    },
  };
}
