/**
 * Write commands open the directory as its owner through the store's `openWorkspace`. When another process owns
 * it, they fail with LEDGER_LOCKED naming that process's pid (from owner.json, or the ledger's own pid file).
 */
import { resolve } from 'node:path';
import { CkptError, hasCode } from '../errors.js';
import { readOwner } from '../server/owner-file.js';
import { openWorkspace, type Workspace } from '../store/index.js';
import { assertCkptDir, lockedError } from './source.js';

/**
 * Open `dir` as owner, run `fn`, always close. `what` names the command in the LEDGER_LOCKED message.
 * @example await withWorkspace('./checkpoints', 'ckpt tag', (ws) => ws.store.tag('ckpt-3', ['shipped']))
 */
export async function withWorkspace<T>(dir: string, what: string, fn: (ws: Workspace) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  const abs = options.create ? resolve(dir) : assertCkptDir(dir);
  const owner = await readOwner(abs);
  if (owner) throw lockedError(dir, what, owner.pid);
  let ws: Workspace;
  try {
    ws = await openWorkspace(abs, { create: options.create });
  } catch (error) {
    if (hasCode(error) && error.code === 'LEDGER_LOCKED') throw lockedError(dir, what, error.details?.pid, error);
    throw error;
  }
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

/**
 * The store's ref errors in the CLI's terms: an unknown or malformed ref is CLI_REF_UNKNOWN everywhere.
 * @example const id = await resolveStoreRef(ws, 'best')
 */
export async function resolveStoreRef(ws: Pick<Workspace, 'store'>, ref: string, options: { verify?: boolean } = {}): Promise<string> {
  try {
    return await ws.store.resolve(ref, { verify: options.verify ?? false });
  } catch (error) {
    throw asRefError(error, ref);
  }
}

/** Map STORE_BAD_REF / STORE_NOT_FOUND-for-a-ref to CLI_REF_UNKNOWN; anything else unchanged. */
export function asRefError(error: unknown, ref: string): unknown {
  if (hasCode(error) && (error.code === 'STORE_BAD_REF' || (error.code === 'STORE_NOT_FOUND' && error.details && 'ref' in error.details))) {
    return new CkptError('CLI_REF_UNKNOWN', `no checkpoint matches "${ref}"; refs are an id, best, best:<metric>, latest, epoch:<N>, <run>/latest — list them with \`ckpt ls --all\``, { cause: error, details: { ref } });
  }
  return error;
}
