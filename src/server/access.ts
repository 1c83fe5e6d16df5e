/**
 * Who may talk to the server. Loopback binds need no token; any other bind requires one, and when a token is
 * set it is checked on every request (`Authorization: Bearer <token>` or `?token=<token>`). A loopback bind
 * without a token also checks the Host header, so a web page on another origin cannot reach it through DNS
 * rebinding.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CkptError } from '../errors.js';

/**
 * True for 127.0.0.0/8, ::1 and `localhost`.
 * @example isLoopbackHost('127.0.0.1') // true;  isLoopbackHost('0.0.0.0') // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Throw SERVER_TOKEN_REQUIRED when binding off loopback without a token.
 * @example assertBindAllowed('0.0.0.0', undefined) // throws
 */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw new CkptError('SERVER_TOKEN_REQUIRED', `binding to ${host} exposes the ledger beyond this machine; pass --token <secret> (or bind 127.0.0.1)`, {
      details: { host },
    });
  }
}

/** Name of the HttpOnly cookie that carries a page's token to its own scripts, styles and API calls. */
export const TOKEN_COOKIE = 'ckpt_token';

/**
 * The token a request presents: `Authorization: Bearer`, else `?token=`, else the page's cookie (set when the
 * page was opened with `?token=`, so its subresources need not repeat it).
 */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header && /^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  const query = url.searchParams.get('token');
  if (query !== null) return query;
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
  return cookie ? decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1)) : undefined;
}

/** Constant-time token comparison. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Decide whether a request may proceed: null when allowed, else the HTTP status and a one-line reason.
 * @example const denied = checkAccess(req, url, { token: 's3cret-token', host: '0.0.0.0' })
 */
export function checkAccess(req: IncomingMessage, url: URL, options: { token?: string; host: string }): { status: number; message: string } | null {
  if (options.token) {
    return tokenMatches(options.token, presentedToken(req, url))
      ? null
      : { status: 401, message: 'missing or wrong token: send `Authorization: Bearer <token>` or add `?token=<token>`' };
  }
  if (isLoopbackHost(options.host)) {
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (hostHeader && !isLoopbackHost(hostHeader)) {
      return { status: 403, message: `Host ${hostHeader} is not this loopback server; open it as http://127.0.0.1:<port>/` };
    }
  }
  return null;
}
