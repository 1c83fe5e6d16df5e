/**
 * Forwarding `/api/*` to the process that owns the ledger, streaming included (SSE passes through as it
 * arrives, `Last-Event-ID` is forwarded so resumes stay gap-free).
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { CkptError } from '../errors.js';
import type { ServerAddress } from './client.js';

const FORWARDED_REQUEST_HEADERS = ['accept', 'last-event-id', 'cache-control'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'content-length', 'x-accel-buffering'];

/**
 * Forward one GET to `owner`. Rejects with SERVER_OWNER_GONE when the owner cannot be reached before any byte
 * was sent to the client (so the caller can fall back); after that a drop just ends the response.
 * @example await proxyToOwner(req, res, url, owner)
 */
export function proxyToOwner(req: IncomingMessage, res: ServerResponse, url: URL, owner: ServerAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const target = new URL(url.pathname + url.search, owner.url);
    target.searchParams.delete('token'); // the client's token is for us; the owner gets its own
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    if (owner.token) headers.authorization = `Bearer ${owner.token}`;
    const upstream = request(target, { method: req.method, headers }, (answer) => {
      const out: Record<string, string> = {};
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = answer.headers[name];
        if (typeof value === 'string') out[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, out);
      res.socket?.setNoDelay(true);
      answer.pipe(res);
      answer.on('end', () => resolve());
      answer.on('error', () => {
        res.destroy();
        resolve();
      });
    });
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy();
        resolve();
      } else {
        reject(new CkptError('SERVER_OWNER_GONE', `the ledger's owner at ${owner.url} stopped answering`, { cause: error }));
      }
    });
    res.on('close', () => {
      // The client left (a closed tab ends an endless SSE stream): drop the upstream and settle, so no request waits forever.
      upstream.destroy();
      resolve();
    });
    upstream.end();
  });
}
