/**
 * The HTTP shell shared by the owner server and the proxying `ckpt serve`: binds, checks access on every
 * request, allows only GET/HEAD, serves the page's static files, and hands `/api/*` to an API handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CkptError, hasCode } from '../errors.js';
import { assertBindAllowed, checkAccess, TOKEN_COOKIE } from './access.js';
import { toJson } from './sse.js';
import { checkWrite, type WriteRefusal } from './write-access.js';
import { pageDir, serveStatic } from './static-files.js';

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpShellOptions {
  host?: string;
  port?: number;
  token?: string;
  /** Serve the dashboard page's static files (default true). */
  page?: boolean;
  /** Accept writes (POST `/api/actions/*`) presenting this token; undefined = read-only (405 SERVER_READ_ONLY). */
  writeToken?: string;
}

/** Paths that change the ledger: only POST, only with the write token (write-access.ts). */
export const ACTIONS_PREFIX = '/api/actions/';

export interface HttpShell {
  server: Server;
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** Send a JSON body (errors use `{error: {code, message, details}}`). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = toJson(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Map a thrown error to a JSON error response: coded errors keep their code; bad requests are 4xx, a busy or
 * pinned / pruned / owned-elsewhere conflict 409, a gone owner 503, a damaged ledger or store or a disk failure 500, and uncoded errors (bugs) SERVER_INTERNAL 500.
 * @example sendError(res, new CkptError('STORE_NOT_FOUND', 'no checkpoint ckpt-9')) // → 404 {error: {code: 'STORE_NOT_FOUND', ...}}
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (hasCode(error)) {
    const status = /NOT_FOUND$|_UNKNOWN$/.test(error.code) ? 404
      : /^LEDGER_LOCKED$|^STORE_PINNED$|^STORE_PRUNED$/.test(error.code) ? 409
      : /LOCKED|CLOSED|UNAVAILABLE|OWNER/.test(error.code) ? 503
      : /CORRUPT|_IO$/.test(error.code) ? 500 : 400;
    sendJson(res, status, { error: { code: error.code, message: error.message, details: error.details ?? {} } });
  } else {
    sendJson(res, 500, { error: { code: 'SERVER_INTERNAL', message: error instanceof Error ? error.message : String(error) } });
  }
}

/**
 * Writes are POSTs to /api/actions/* with the write token; everything else is GET/HEAD. Null when the request
 * may go on, else the refusal (status, stable code, what to do, and the Allow header for a 405).
 */
function refuseMethod(req: IncomingMessage, url: URL, host: string, writeToken: string | undefined): (WriteRefusal & { allow?: string }) | null {
  const action = url.pathname.startsWith(ACTIONS_PREFIX);
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && !action) return null;
  if (!writeToken) {
    return { status: 405, code: 'SERVER_READ_ONLY', allow: 'GET, HEAD', message: 'this server is read-only (--read-only, or a run without --serve); use the ckpt CLI, or `ckpt serve` without --read-only' };
  }
  if (read) return { status: 405, code: 'SERVER_METHOD_NOT_ALLOWED', allow: 'POST', message: `${url.pathname} changes the ledger: POST it (a GET never writes)` };
  if (!action || req.method !== 'POST') {
    return { status: 405, code: 'SERVER_METHOD_NOT_ALLOWED', allow: action ? 'POST' : 'GET, HEAD', message: `${req.method} is not allowed on ${url.pathname}; actions are POST ${ACTIONS_PREFIX}<action>` };
  }
  return checkWrite(req, { token: writeToken, host });
}

/**
 * Start the HTTP shell.
 * @example const shell = await startHttpShell({ port: 0 }, (req, res, url) => sendJson(res, 200, { ok: true }))
 */
export async function startHttpShell(options: HttpShellOptions, api: ApiHandler): Promise<HttpShell> {
  const host = options.host ?? '127.0.0.1';
  assertBindAllowed(host, options.token);
  const root = options.page === false ? null : pageDir();
  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://ckpt.invalid');
    } catch {
      sendJson(res, 400, { error: { code: 'SERVER_BAD_REQUEST', message: 'malformed request URL' } });
      return;
    }
    const denied = checkAccess(req, url, { token: options.token, host });
    if (denied) {
      sendJson(res, denied.status, { error: { code: denied.status === 401 ? 'SERVER_UNAUTHORIZED' : 'SERVER_FORBIDDEN', message: denied.message } });
      return;
    }
    if (options.token && url.searchParams.has('token')) {
      res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    const refused = refuseMethod(req, url, host, options.writeToken);
    if (refused) {
      if (refused.allow) res.setHeader('allow', refused.allow);
      sendJson(res, refused.status, { error: { code: refused.code, message: refused.message } });
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      Promise.resolve()
        .then(() => api(req, res, url))
        .catch((error: unknown) => sendError(res, error));
      return;
    }
    for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    if (root && serveStatic(res, url.pathname, root, req.method === 'HEAD')) return;
    sendJson(res, 404, { error: { code: 'SERVER_NOT_FOUND', message: `nothing at ${url.pathname}; the page is at / and the API under /api/` } });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new CkptError('SERVER_PORT_IN_USE', `port ${options.port} on ${host} is in use; pass --port <another> (or 0 for any free port)`, { cause: error })
          : new CkptError('SERVER_LISTEN', `cannot listen on ${host}:${options.port}: ${error.message}`, { cause: error }),
      );
    });
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
