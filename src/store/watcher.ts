/**
 * While a run or server is live, chokidar watches the blobs that live checkpoints reference: one deleted or
 * changed by someone else is recorded (CheckpointMissing / CheckpointCorrupted for every live checkpoint that
 * references it) within about a second, so best/latest fall back accordingly. Deletions this process made
 * itself are ignored.
 *
 * Only referenced blobs are watched — those of the catalog at open, then those each CheckpointCommitted adds
 * (followed through the ledger's tail). A blob being written, a temp file or an unreferenced leftover is
 * nobody's concern, and watching files instead of the `objects/ab/` directories spares chokidar a re-listing
 * (with a stat of every entry) of a directory each time the store adds a blob to it: work that ran on the
 * event loop and the I/O thread pool of the very commit that caused it. A whole prefix directory removed
 * still reaches every watched file in it.
 *
 * Each watched file costs one OS watch (inotify's default limit is 8192 on older kernels), so beyond
 * FILE_WATCH_LIMIT referenced blobs — or when the OS refuses more watches — it watches the `objects/ab/`
 * directories instead (257 watches, whatever the store's size).
 */
import { watch, type FSWatcher } from 'chokidar';
import { basename, dirname, relative } from 'node:path';
import type { Subscription } from 'rxjs';
import type { CheckpointCommitted } from '../events.js';
import { BlobFault, BlobStore } from './blobs.js';
import { appendEvent, catalogOf, type StoreContext } from './context.js';
import { isBlobHash } from './hash.js';

export interface BlobWatcher {
  /** Resolves once every referenced blob is watched and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Referenced blobs watched one by one at most; above this the prefix directories are watched. */
export const FILE_WATCH_LIMIT = 4096;

function hashOfPath(path: string): string | null {
  const hash = basename(dirname(path)) + basename(path);
  return isBlobHash(hash) ? hash : null;
}

/**
 * Start watching the blobs a store's live checkpoints reference.
 * @example const watcher = watchBlobs(ctx); await watcher.ready; ...; await watcher.close()
 */
export function watchBlobs(ctx: StoreContext, onError: (error: unknown) => void = () => undefined, fileWatchLimit = FILE_WATCH_LIMIT): BlobWatcher {
  // Only local files can be watched; a remote store (S3) is checked on load instead.
  if (!(ctx.blobs instanceof BlobStore)) throw new TypeError('watchBlobs needs a local BlobStore');
  const blobs = ctx.blobs;
  /** Hashes handed to chokidar one by one and not reported gone since (unused once watching directories). */
  const watched = new Set<string>(Object.keys(catalogOf(ctx).blobRefs));
  let byDirectory = watched.size > fileWatchLimit;
  const watcher: FSWatcher = watch(byDirectory ? blobs.objectsDir : [...watched].map((hash) => blobs.path(hash)), {
    ignoreInitial: true, persistent: true, awaitWriteFinish: false, followSymlinks: false, depth: 1,
  });
  // Files already watched stay watched (chokidar would ignore them for good if unwatched); no new ones are added.
  const watchDirectories = (): void => {
    if (byDirectory) return;
    byDirectory = true;
    watcher.add(blobs.objectsDir);
  };
  const follow = (hashes: readonly string[]): void => {
    if (byDirectory) return;
    const refs = catalogOf(ctx).blobRefs;
    const fresh = hashes.filter((hash) => refs[hash] > 0 && !watched.has(hash));
    if (fresh.length === 0) return;
    if (watched.size + fresh.length > fileWatchLimit) return watchDirectories();
    for (const hash of fresh) watched.add(hash);
    watcher.add(fresh.map((hash) => blobs.path(hash)));
  };
  let queue: Promise<unknown> = Promise.resolve();
  const check = (kind: 'unlink' | 'change', path: string) => {
    const hash = hashOfPath(path);
    if (!hash) return;
    // chokidar stops watching a file once it is gone; one written again since (the store deleted it, then a new
    // commit brought the same bytes back) is watched again below, when it is still referenced.
    if (kind === 'unlink') {
      watched.delete(hash);
      if (blobs.ownDeletes.delete(hash)) return;
    }
    queue = queue.then(async () => {
      if (ctx.ledger.closed) return;
      const catalog = catalogOf(ctx);
      if (!(catalog.blobRefs[hash] > 0)) return;
      let fault: BlobFault | null = null;
      try {
        await ctx.blobs.check(hash);
      } catch (error) {
        if (error instanceof BlobFault) fault = error;
        else throw error;
      }
      if (!fault) {
        if (kind === 'unlink') follow([hash]);
        return;
      }
      for (const id of catalog.order) {
        const entry = catalog.checkpoints[id];
        if (entry.status !== 'kept' || !entry.blobs.includes(hash)) continue;
        if (fault.kind === 'missing') await appendEvent(ctx, entry.run, 'CheckpointMissing', { checkpoint: id, blob: hash });
        else await appendEvent(ctx, entry.run, 'CheckpointCorrupted', { checkpoint: id, blob: hash, expected: hash, actual: fault.actual, detail: `changed on disk by another process: ${fault.message}` });
      }
    }).catch(onError);
  };
  watcher.on('unlink', (path) => check('unlink', path));
  watcher.on('change', (path) => check('change', path));
  // Watching directories, a whole `objects/ab/` removed may arrive as one unlinkDir: check every referenced blob in it.
  watcher.on('unlinkDir', (path) => {
    const prefix = relative(blobs.objectsDir, path);
    if (!/^[0-9a-f]{2}$/.test(prefix)) return;
    for (const hash of Object.keys(catalogOf(ctx).blobRefs)) if (hash.startsWith(prefix)) check('unlink', blobs.path(hash));
  });
  watcher.on('error', (error) => {
    // Out of OS watches (ENOSPC: inotify's limit; EMFILE: open files): fall back to the directories.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EMFILE') watchDirectories();
    onError(error);
  });
  // Appends are applied to the catalog before the tail sees them, so a committed (or repaired and verified
  // again) checkpoint's blobs are watched from then on.
  const commits: Subscription = ctx.ledger.tail(ctx.ledger.lastSeq + 1).subscribe({
    next: (item) => {
      if (item.kind !== 'event') return;
      if (item.event.type === 'CheckpointCommitted') follow((item.event.data as CheckpointCommitted).blobs ?? []);
      else if (item.event.type === 'CheckpointVerified') follow(catalogOf(ctx).checkpoints[(item.event.data as { checkpoint: string }).checkpoint]?.blobs ?? []);
    },
    error: onError,
  });
  const ready = watched.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      commits.unsubscribe();
      await watcher.close();
      await queue;
    },
  };
}
