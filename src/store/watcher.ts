/**
 * While a run or server is live, chokidar watches `objects/`: a blob deleted or changed by someone else is
 * recorded (CheckpointMissing / CheckpointCorrupted for every live checkpoint that references it) within
 * about a second, so best/latest fall back accordingly. Deletions this process made itself are ignored.
 */
import { watch, type FSWatcher } from 'chokidar';
import { relative, sep } from 'node:path';
import { BlobFault } from './blobs.js';
import { appendEvent, catalogOf, type StoreContext } from './context.js';
import { isBlobHash } from './hash.js';

export interface BlobWatcher {
  /** Resolves once the initial scan is done and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

function hashOfPath(ctx: StoreContext, path: string): string | null {
  const rel = relative(ctx.blobs.objectsDir, path).split(sep).join('');
  return isBlobHash(rel) ? rel : null;
}

/**
 * Start watching a store's objects directory.
 * @example const watcher = watchBlobs(ctx); await watcher.ready; ...; await watcher.close()
 */
export function watchBlobs(ctx: StoreContext, onError: (error: unknown) => void = () => undefined): BlobWatcher {
  const watcher: FSWatcher = watch(ctx.blobs.objectsDir, { ignoreInitial: true, persistent: true, depth: 1, awaitWriteFinish: false });
  let queue: Promise<unknown> = Promise.resolve();
  const check = (kind: 'unlink' | 'change', path: string) => {
    const hash = hashOfPath(ctx, path);
    if (!hash) return;
    if (kind === 'unlink' && ctx.blobs.ownDeletes.delete(hash)) return;
    queue = queue.then(async () => {
      if (ctx.ledger.closed) return;
      const catalog = catalogOf(ctx);
      if (!(catalog.blobRefs[hash] > 0)) return;
      let fault: BlobFault | null = null;
      try {
        await ctx.blobs.read(hash);
      } catch (error) {
        if (error instanceof BlobFault) fault = error;
        else throw error;
      }
      if (!fault) return;
      for (const id of catalog.order) {
        const entry = catalog.checkpoints[id];
        if (entry.status !== 'kept' || !entry.blobs.includes(hash)) continue;
        if (fault.kind === 'missing') await appendEvent(ctx, entry.run, 'CheckpointMissing', { checkpoint: id, blob: hash });
        else await appendEvent(ctx, entry.run, 'CheckpointCorrupted', { checkpoint: id, blob: hash, expected: hash, actual: fault.actual, detail: `changed on disk by another process: ${fault.message}` });
      }
    }).catch(onError);
  };
  watcher.on('unlink', (path) => check('unlink', path));
  // A whole `objects/ab/` removed may arrive as one unlinkDir: check every referenced blob under it.
  watcher.on('unlinkDir', (path) => {
    const prefix = relative(ctx.blobs.objectsDir, path);
    if (!/^[0-9a-f]{2}$/.test(prefix)) return;
    for (const hash of Object.keys(catalogOf(ctx).blobRefs)) if (hash.startsWith(prefix)) check('unlink', ctx.blobs.path(hash));
  });
  watcher.on('change', (path) => check('change', path));
  watcher.on('error', onError);
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      await watcher.close();
      await queue;
    },
  };
}
