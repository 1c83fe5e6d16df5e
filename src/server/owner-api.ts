/**
 * The API of a process that has the ledger open: `/api/health`, the SSE stream `/api/events` and the view
 * routes. Used by the owner server and by `ckpt serve` after it takes a ledger over.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ledger } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import { sendJson } from './http-server.js';
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
export function createLedgerApi(ledger: Ledger, options: { dir: string; heartbeatMs?: number; startedAt?: number }): LedgerApi {
  const streams = new Set<() => void>();
  const startedAt = options.startedAt ?? Date.now();
  return {
    async handle(req, res, url) {
      const q = url.searchParams;
      if (url.pathname === '/api/health') {
        sendJson(res, 200, { ok: true, role: 'owner', pid: process.pid, lastSeq: ledger.lastSeq, startedAt, now: Date.now(), dir: options.dir });
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
        throw new CkptError('SERVER_NOT_FOUND', `no API endpoint ${url.pathname}; try ${['/api/health', '/api/events', ...Object.keys(VIEW_ROUTES)].join(', ')}`);
      }
      sendJson(res, 200, answer.body);
    },
    close() {
      for (const end of streams) end();
      streams.clear();
    },
  };
}
