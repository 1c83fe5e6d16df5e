/**
 * The server of the process that owns a ledger (`ckpt train --serve`, `ckpt serve` with no other owner):
 * the JSON API and SSE stream on the ledger, the actions when given the store (token-guarded), optionally the
 * page, and the `owner.json`
 * advertisement other processes use to read through it.
 */
import type { Ledger } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import { startHttpShell } from './http-server.js';
import { createLedgerApi } from './owner-api.js';
import { newWriteToken } from './write-access.js';
import type { CheckpointStore } from '../store/index.js';
import { removeOwnerFile, writeOwnerFile, type OwnerInfo } from './owner-file.js';

/** What the owner server needs from an open workspace: its directory, its ledger and, to accept writes, its store. */
export interface ServedWorkspace {
  dir: string;
  ledger: Ledger;
  /** Without it the server is read-only. */
  store?: CheckpointStore;
}

export interface OwnerServerOptions {
  host?: string;
  port?: number;
  token?: string;
  /** Also serve the dashboard page (default false: API only). */
  page?: boolean;
  /** Write `<dir>/owner.json` (default true). */
  advertise?: boolean;
  /** SSE heartbeat interval (default 15 s). */
  heartbeatMs?: number;
  /** Refuse every write even with a store (`--read-only`). */
  readOnly?: boolean;
  /** The token writes must present (default: `token` when set, else a fresh random one per server). */
  writeToken?: string;
}

export interface OwnerServer {
  url: string;
  /** The page's address to print: `url/`, with `?token=` when the server accepts writes (as Jupyter prints it). */
  pageUrl: string;
  /** Set when writes are accepted. */
  writeToken?: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serve a workspace's ledger over HTTP and advertise it in `<dir>/owner.json`.
 * @example
 *   const server = await startOwnerServer(workspace, { page: true })
 *   console.log(`dashboard: ${server.url}/`)
 *   await server.close()
 */
export async function startOwnerServer(workspace: ServedWorkspace, options: OwnerServerOptions = {}): Promise<OwnerServer> {
  const writeToken = workspace.store && !options.readOnly ? (options.token ?? options.writeToken ?? newWriteToken()) : undefined;
  const api = createLedgerApi(workspace.ledger, { dir: workspace.dir, heartbeatMs: options.heartbeatMs, store: workspace.store, writeToken });
  const shell = await startHttpShell({ host: options.host, port: options.port, token: options.token, writeToken, page: options.page === true }, api.handle);
  let advertisement: ReturnType<typeof advertiseOwner> | undefined;
  try {
    advertisement = options.advertise === false ? undefined : advertiseOwner(workspace.dir, shell, options.token);
  } catch (error) {
    api.close();
    await shell.close();
    throw new CkptError('SERVER_ADVERTISE', `cannot write ${workspace.dir}/owner.json (${(error as Error).message}); check that the directory exists and is writable`, { cause: error });
  }
  let closing: Promise<void> | undefined;
  return {
    url: shell.url,
    pageUrl: pageUrlOf(shell.url, writeToken ?? options.token),
    ...(writeToken ? { writeToken } : {}),
    host: shell.host,
    port: shell.port,
    close() {
      closing ??= (async () => {
        advertisement?.withdraw();
        api.close();
        await shell.close();
      })();
      return closing;
    },
  };
}

/**
 * Write `<dir>/owner.json` for a listening server and remove it on `withdraw()` or when the process exits.
 * @example const ad = advertiseOwner(dir, shell); ...; ad.withdraw()
 */
export function advertiseOwner(dir: string, at: { host: string; port: number }, token?: string): { info: OwnerInfo; withdraw(): void } {
  const info: OwnerInfo = { pid: process.pid, host: at.host, port: at.port, ...(token ? { token } : {}), startedAt: Date.now() };
  const onExit = (): void => {
    removeOwnerFile(dir, info);
  };
  writeOwnerFile(dir, info);
  process.on('exit', onExit);
  return {
    info,
    withdraw() {
      process.off('exit', onExit);
      removeOwnerFile(dir, info);
    },
  };
}

/**
 * The address to open the page at: with the token in the query when there is one (the page keeps it and
 * removes it from the address bar).
 * @example pageUrlOf('http://127.0.0.1:6006', 'q3X') // 'http://127.0.0.1:6006/?token=q3X'
 */
export function pageUrlOf(url: string, token: string | undefined): string {
  return token ? `${url}/?token=${encodeURIComponent(token)}` : `${url}/`;
}
