/**
 * A ckpt directory opened for use: its LevelDB ledger (with the core projections), its checkpoint store, and
 * optionally the watcher of `objects/`. One process owns a directory at a time (the ledger's lock).
 */
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Ledger, LedgerOptions } from '../ledger/types.js';
import { CkptError } from './errors.js';
import { coreProjections } from './projections/index.js';
import { type Compression } from './store/compression.js';
import { CheckpointStore, createStore } from './store/store.js';
import { openLedgerFor, remoteBlobs, sharedLedger } from './store/locations.js';
import type { BlobBackend } from './store/blobs.js';
import { type BlobWatcher, watchBlobs } from './store/watcher.js';
import { refuseIfBehindStore } from './repair/open-check.js';

export interface WorkspaceOptions {
  /** Create the directory when missing (default false: a missing directory is STORE_NOT_FOUND). */
  create?: boolean;
  /** Watch `objects/` for blobs deleted or changed by someone else (runs and servers do). */
  watch?: boolean;
  compression?: Compression;
  /** Extra ledger options (projections are added to the core ones). */
  ledger?: LedgerOptions;
  /** Skip the check that the ledger is not behind its store (LEDGER_BEHIND_STORE); only `ckpt repair` does. */
  allowBehindStore?: boolean;
  /** Called with errors from the background watcher. */
  onWatchError?: (error: unknown) => void;
}

export interface Workspace {
  dir: string;
  ledger: Ledger;
  /**
   * Typed with the local BlobStore for the callers (tests) that reach into `objects/`; with CKPT_STORE_URL=s3://…
   * `store.blobs` is an S3BlobStore and only the BlobBackend members exist (lead: narrow those callers, then type
   * this CheckpointStore<BlobBackend>).
   */
  store: CheckpointStore;
  /** Present when opened with `watch`. */
  watcher?: BlobWatcher;
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * Open (or with `create`, make) a ckpt directory: ledger at `<dir>/ledger`, blobs at `<dir>/objects`.
 * Unfinished prunes (intent without done event) are finished before this resolves. Rejects with
 * LEDGER_BEHIND_STORE (recorded as a LedgerBehindStore event) when the store holds commits the ledger lost.
 * @example
 *   const ws = await openWorkspace('./checkpoints', { create: true, watch: true })
 *   try { await ws.store.commit(state, meta) } finally { await ws.close() }
 */
export async function openWorkspace(dir: string, options: WorkspaceOptions = {}): Promise<Workspace> {
  const root = resolve(dir);
  if (!(await exists(root))) {
    if (!options.create) throw new CkptError('STORE_NOT_FOUND', `no ckpt directory at ${root}; pass --dir, or create one with \`ckpt train --dir ${root}\``, { details: { dir: root } });
    await mkdir(root, { recursive: true });
  } else if (!options.create && !sharedLedger() && !(await exists(join(root, 'ledger')))) {
    throw new CkptError('STORE_NOT_FOUND', `${root} is not a ckpt directory (no ledger/); pass the right --dir`, { details: { dir: root } });
  }
  const extra = options.ledger?.projections ?? [];
  // The ledger and blobs live in the directory unless a shared ledger / remote store is configured (docs/scale.md).
  const ledger = await openLedgerFor(root, { ...options.ledger, projections: [...coreProjections, ...extra] });
  const blobs = remoteBlobs();
  let watcher: BlobWatcher | undefined;
  try {
    const store = await createStore<BlobBackend>(root, ledger, { compression: options.compression, ...(blobs ? { blobs } : {}) });
    // Before finishing prunes: on a rolled-back ledger their reference counts miss the forgotten checkpoints.
    if (!options.allowBehindStore) await refuseIfBehindStore(root, store, ledger);
    await store.finishPendingPrunes();
    if (options.watch && !blobs) {
      watcher = watchBlobs(store.ctx, options.onWatchError);
      await watcher.ready;
    }
    let closed = false;
    return {
      dir: root,
      ledger,
      store: store as CheckpointStore,
      watcher,
      async close() {
        if (closed) return;
        closed = true;
        await watcher?.close();
        await ledger.close();
      },
    };
  } catch (error) {
    await watcher?.close().catch(() => undefined);
    await ledger.close().catch(() => undefined);
    throw error;
  }
}
