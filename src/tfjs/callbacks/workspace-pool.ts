/**
 * One open workspace per directory per process, shared by every callback that writes there. LevelDB lets one
 * process open a directory once, and ModelCheckpoint + EarlyStopping on the same `dir` must append to the same
 * ledger, so callbacks lease the workspace here and the last release closes it. While it is open, this process
 * owns the directory: like `ckpt train`, it serves the ledger read-only on 127.0.0.1 and advertises itself in
 * `<dir>/owner.json`, so `ckpt ls`, `ckpt log --follow` or `ckpt serve` in another terminal read through it.
 */
import { resolve } from 'node:path';
import { startOwnerServer, type OwnerServer } from '../../server/owner-server.js';
import { openWorkspace, type Workspace } from '../../workspace.js';

interface Entry { workspace: Promise<Workspace>; server: Promise<OwnerServer | undefined>; leases: number }

const open = new Map<string, Entry>();

/**
 * Open (or share) the workspace at `dir`, creating it when missing. Pair every call with {@link releaseWorkspace}.
 *
 * @example const ws = await leaseWorkspace('./checkpoints'); try { ... } finally { await releaseWorkspace('./checkpoints') }
 */
export function leaseWorkspace(dir: string): Promise<Workspace> {
  const key = resolve(dir);
  let entry = open.get(key);
  if (!entry) {
    const workspace = openWorkspace(key, { create: true });
    // Serving is a convenience for other processes: training goes on without it.
    const server = workspace.then((ws) => startOwnerServer(ws), () => undefined).catch(() => undefined);
    const created: Entry = { workspace, server, leases: 0 };
    open.set(key, (entry = created));
    // A failed open must not poison later attempts.
    workspace.catch(() => { if (open.get(key) === created) open.delete(key); });
  }
  entry.leases++;
  return entry.workspace;
}

/**
 * Give back one lease; the workspace (and its owner server) closes when nobody holds it any more.
 *
 * @example await releaseWorkspace('./checkpoints')
 */
export async function releaseWorkspace(dir: string): Promise<void> {
  const key = resolve(dir);
  const entry = open.get(key);
  if (!entry) return;
  entry.leases--;
  if (entry.leases > 0) return;
  open.delete(key);
  await (await entry.server)?.close().catch(() => undefined);
  const workspace = await entry.workspace.catch(() => undefined);
  await workspace?.close();
}
