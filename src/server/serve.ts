/**
 * `ckpt serve`: the dashboard and API for a ckpt directory. Opens the directory as its owner when it can;
 * when a live process (`ckpt train`) owns it, serves the page and forwards the API to that owner, and takes
 * the ledger over once the owner exits — an open page just reconnects its stream with Last-Event-ID.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CkptError, hasCode } from '../errors.js';
import { openWorkspace, type Workspace } from '../workspace.js';
import { ACTIONS_PREFIX, sendJson, startHttpShell } from './http-server.js';
import { createLedgerApi, type LedgerApi } from './owner-api.js';
import { advertiseOwner, pageUrlOf } from './owner-server.js';
import { newWriteToken } from './write-access.js';
import { pingOwner, readOwner, type Owner } from './owner-file.js';
import { proxyToOwner } from './proxy.js';

export interface ServeOptions {
  dir: string;
  host?: string;
  port?: number;
  token?: string;
  heartbeatMs?: number;
  /** Refuse every write (`ckpt serve --read-only`). */
  readOnly?: boolean;
  /** The token writes must present (default: `token` when set, else a fresh random one). */
  writeToken?: string;
  /** How long to wait for a starting owner to advertise itself when the ledger is locked. Default 3000 ms. */
  waitForOwnerMs?: number;
}

export interface ServeHandle {
  url: string;
  /** `url/`, with `?token=` when writes are accepted: the address to print. */
  pageUrl: string;
  port: number;
  /** How the API is answered right now. */
  mode(): 'owner' | 'proxy';
  close(): Promise<void>;
}

type Backend =
  | { kind: 'owner'; workspace: Workspace; api: LedgerApi; withdraw?: () => void }
  | { kind: 'proxy'; owner: Owner };

/**
 * Open the directory ourselves, or find its live owner; while it is locked by a process that has not advertised
 * itself yet, retry until `waitForOwnerMs`, then SERVER_NO_OWNER.
 */
async function acquire(dir: string, waitForOwnerMs: number, api: { heartbeatMs?: number; writeToken?: string }): Promise<Backend> {
  const deadline = Date.now() + waitForOwnerMs;
  for (;;) {
    const owner = await readOwner(dir);
    if (owner) return { kind: 'proxy', owner };
    try {
      const workspace = await openWorkspace(dir);
      const store = api.writeToken ? workspace.store : undefined;
      return { kind: 'owner', workspace, api: createLedgerApi(workspace.ledger, { dir: workspace.dir, heartbeatMs: api.heartbeatMs, store, writeToken: api.writeToken }) };
    } catch (error) {
      if (!hasCode(error) || error.code !== 'LEDGER_LOCKED') throw error;
      if (Date.now() > deadline) {
        throw new CkptError('SERVER_NO_OWNER', `${dir} is locked by another process that does not advertise an API (no live owner.json); start it with --serve or wait for it to exit`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/**
 * Serve a ckpt directory's dashboard and API.
 * @example const handle = await serve({ dir: './checkpoints', port: 6006 }); console.log(handle.url)
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const waitMs = options.waitForOwnerMs ?? 3000;
  const writeToken = options.readOnly ? undefined : (options.token ?? options.writeToken ?? newWriteToken());
  const apiOptions = { heartbeatMs: options.heartbeatMs, writeToken };
  let backend = await acquire(options.dir, waitMs, apiOptions);
  let switching: Promise<void> | undefined;
  let closed = false;

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (switching) await switching;
    const current = backend;
    if (current.kind === 'owner') return current.api.handle(req, res, url);
    try {
      if (url.pathname === '/api/health') {
        if (!(await pingOwner(current.owner, 1000))) throw new CkptError('SERVER_OWNER_GONE', `the ledger's owner at ${current.owner.url} stopped answering`);
        sendJson(res, 200, { ok: true, role: 'proxy', pid: process.pid, ownerPid: current.owner.pid, owner: current.owner.url, now: Date.now(), dir: options.dir, writes: writeToken ? 'owner-elsewhere' : 'read-only' });
        return;
      }
      if (url.pathname.startsWith(ACTIONS_PREFIX)) {
        // Like `ckpt pin` beside a running `ckpt train`: the owner acts, we do not (its page has its own token).
        throw new CkptError('LEDGER_LOCKED', `process ${current.owner.pid} owns ${options.dir}; act from its page (the URL \`ckpt train --serve\` printed) or wait for it to finish — this page takes over then`, { details: { pid: current.owner.pid } });
      }
      await proxyToOwner(req, res, url, current.owner);
    } catch (error) {
      if (!hasCode(error) || error.code !== 'SERVER_OWNER_GONE' || closed) throw error;
      // The owner went away (training finished or was killed): take over, then answer this request ourselves.
      switching ??= takeOver().finally(() => (switching = undefined));
      await switching;
      return handle(req, res, url);
    }
  };

  const shell = await startHttpShell({ host: options.host, port: options.port ?? 6006, token: options.token, writeToken, page: true }, handle).catch(async (error: unknown) => {
    if (backend.kind === 'owner') await backend.workspace.close();
    throw error;
  });
  if (backend.kind === 'owner') {
    try {
      backend.withdraw = advertiseOwner(backend.workspace.dir, shell, options.token).withdraw;
    } catch (error) {
      // Leave nothing behind: no listener, no open (locked) workspace.
      backend.api.close();
      await shell.close();
      await backend.workspace.close();
      throw new CkptError('SERVER_ADVERTISE', `cannot write ${backend.workspace.dir}/owner.json (${(error as Error).message}); check that the directory is writable`, { cause: error });
    }
  }

  async function takeOver(): Promise<void> {
    const next = await acquire(options.dir, waitMs, apiOptions);
    if (next.kind === 'owner') next.withdraw = advertiseOwner(next.workspace.dir, shell, options.token).withdraw;
    backend = next;
  }

  return {
    url: shell.url,
    pageUrl: pageUrlOf(shell.url, writeToken ?? options.token),
    port: shell.port,
    mode: () => backend.kind,
    async close() {
      closed = true;
      if (switching) await switching.catch(() => undefined);
      if (backend.kind === 'owner') {
        backend.withdraw?.();
        backend.api.close();
      }
      await shell.close();
      if (backend.kind === 'owner') await backend.workspace.close();
    },
  };
}
