/**
 * Write commands open the directory as its owner through the store's `openWorkspace`. When another process owns
 * it, they fail with LEDGER_LOCKED naming that process's pid (from owner.json, or the ledger's own pid file).
 */
import { resolve } from 'node:path';
import { hasCode } from '../errors.js';
import { readOwner } from '../server/owner-file.js';
import { openWorkspace, type Workspace } from '../store/index.js';
import { resolveRef } from '../store/refs.js';
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
 * The checkpoint id a ref means, by the one resolver over the workspace's read model (the same answer and the
 * same error codes as `ckpt show`; see src/store/refs.ts).
 * @example const id = resolveStoreRef(ws, 'best')
 */
export function resolveStoreRef(ws: Pick<Workspace, 'store'>, ref: string): string {
  return resolveRef(ws.store.catalog(), ref).id;
}
