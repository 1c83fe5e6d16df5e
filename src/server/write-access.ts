/**
 * Who may change the ledger through the server. Reads stay as `access.ts` decides; every write (a POST to
 * `/api/actions/*`) must also pass all of these, on loopback too:
 * - the per-run write token in a header (`X-Ckpt-Token` or `Authorization: Bearer`), never a cookie or the query
 *   string, so a page elsewhere cannot make the browser send it;
 * - a Host header naming this server (no DNS rebinding) and, when the browser sends one, an Origin equal to it
 *   and a `Sec-Fetch-Site` of `same-origin` (no cross-site posts);
 * - `Content-Type: application/json`, which a plain HTML form cannot send.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, tokenMatches } from './access.js';

/** A refusal: HTTP status, stable code, one line saying what to do. */
export interface WriteRefusal { status: number; code: string; message: string }

/**
 * A fresh per-run write token (24 random bytes, URL-safe), as Jupyter prints one per server.
 * @example const token = newWriteToken() // 'q3X…' (32 characters)
 */
export function newWriteToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a write presents: `X-Ckpt-Token`, else `Authorization: Bearer`. Cookies and `?token=` do not count. */
export function presentedWriteToken(req: IncomingMessage): string | undefined {
  const header = req.headers['x-ckpt-token'];
  if (typeof header === 'string' && header !== '') return header.trim();
  const auth = req.headers.authorization;
  return auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
}

/**
 * null when the write may proceed, else why not.
 * @example checkWrite(req, { token: 'q3X…', host: '127.0.0.1' }) // { status: 401, code: 'SERVER_UNAUTHORIZED', … }
 */
export function checkWrite(req: IncomingMessage, options: { token: string; host: string }): WriteRefusal | null {
  const hostHeader = req.headers.host ?? '';
  const hostName = hostHeader.replace(/:\d+$/, '');
  if (!hostHeader || (isLoopbackHost(options.host) && !isLoopbackHost(hostName))) {
    return { status: 403, code: 'SERVER_FORBIDDEN', message: `Host ${hostHeader || '(none)'} is not this server; open the page at the URL ckpt printed` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostHeader}`) {
    return { status: 403, code: 'SERVER_CROSS_ORIGIN', message: `a page at ${origin} may not change this ledger; act from the dashboard itself (http://${hostHeader}/)` };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, code: 'SERVER_CROSS_ORIGIN', message: `a ${site} request may not change this ledger; act from the dashboard itself` };
  }
  if (!tokenMatches(options.token, presentedWriteToken(req))) {
    return { status: 401, code: 'SERVER_UNAUTHORIZED', message: 'writes need the token ckpt printed: open the page with ?token=<token>, or send the header X-Ckpt-Token' };
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    return { status: 415, code: 'SERVER_UNSUPPORTED_MEDIA_TYPE', message: 'send the action as Content-Type: application/json' };
  }
  return null;
}
