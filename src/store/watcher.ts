/**
 * While a run or server is live, `objects/` is watched: a blob deleted or changed by someone else is
 * recorded (CheckpointMissing / CheckpointCorrupted for every live checkpoint that references it) within
 * about a second, so best/latest fall back accordingly. Deletions this process made itself are ignored.
 *
 * One fs.watch per directory (`objects/` and each `objects/ab/` prefix), none per blob: a directory watch
 * already reports every unlink, rename and in-place write of the files in it, and blobs added by the store
 * itself (the common case while training) cost no stat, re-listing or extra watch.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobFault } from './blobs.js';
import { appendEvent, catalogOf, type StoreContext } from './context.js';
import { isBlobHash } from './hash.js';

export interface BlobWatcher {
  /** Resolves once the initial scan is done and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

const PREFIX = /^[0-9a-f]{2}$/;

/**
 * Start watching a store's objects directory.
 * @example const watcher = watchBlobs(ctx); await watcher.ready; ...; await watcher.close()
 */
export function watchBlobs(ctx: StoreContext, onError: (error: unknown) => void = () => undefined): BlobWatcher {
  const objectsDir = ctx.blobs.objectsDir;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  /** Watches of the prefix directories, with the inode they were opened on (a directory may be replaced). */
  const prefixes = new Map<string, { watcher: FSWatcher; ino: number }>();
  const referenced = (hash: string): boolean => catalogOf(ctx).blobRefs[hash] > 0;

  const check = (kind: 'unlink' | 'change', hash: string) => {
    if (kind === 'unlink' && ctx.blobs.ownDeletes.delete(hash)) return;
    queue = queue.then(async () => {
      if (closed || ctx.ledger.closed) return;
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

  /** Every referenced blob under a prefix (a directory that vanished, or an event without a file name). */
  const checkPrefix = (prefix: string) => {
    for (const hash of Object.keys(catalogOf(ctx).blobRefs)) if (hash.startsWith(prefix)) check('unlink', hash);
  };

  const onPrefixEvent = (prefix: string, event: string, filename: string | Buffer | null) => {
    if (closed) return;
    if (filename === null) { checkPrefix(prefix); return; }
    const hash = prefix + String(filename);
    if (!isBlobHash(hash)) return;
    if (event === 'change') { check('change', hash); return; }
    // 'rename': a blob appeared, went away, or was replaced by a rename over it. A blob nobody references yet
    // is one being added (by this store, or one that will be verified when it is read): nothing to check.
    if (!referenced(hash)) return;
    const path = ctx.blobs.path(hash);
    queue = queue.then(async () => {
      let present = true;
      try { await stat(path); } catch { present = false; }
      check(present ? 'change' : 'unlink', hash);
    }).catch(onError);
  };

  const watchPrefix = async (prefix: string): Promise<void> => {
    const dir = join(objectsDir, prefix);
    let ino: number;
    try {
      ino = (await stat(dir)).ino;
    } catch {
      ino = -1;
    }
    if (closed) return;
    const current = prefixes.get(prefix);
    if (current && current.ino === ino) return;
    if (current) { current.watcher.close(); prefixes.delete(prefix); }
    if (ino === -1) { checkPrefix(prefix); return; } // the whole `objects/ab/` was removed
    try {
      const watcher = watch(dir, { persistent: true }, (event, filename) => onPrefixEvent(prefix, event, filename));
      watcher.on('error', () => {
        // The directory went away under the watch: the parent's event rechecks it.
        watcher.close();
        if (prefixes.get(prefix)?.watcher === watcher) prefixes.delete(prefix);
        void watchPrefix(prefix).catch(onError);
      });
      prefixes.set(prefix, { watcher, ino });
      // A blob removed between the stat above and the watch starting would go unnoticed: recheck when replaced.
      if (current) checkPrefix(prefix);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') checkPrefix(prefix);
      else onError(error);
    }
  };

  // Prefix directories are created and removed one at a time: serialise their (re)watching.
  let prefixQueue: Promise<unknown> = Promise.resolve();
  const onTopEvent = (_event: string, filename: string | Buffer | null) => {
    if (closed) return;
    const names = filename === null ? null : [String(filename)];
    prefixQueue = prefixQueue.then(async () => {
      const list = names ?? (await readdir(objectsDir).catch(() => [] as string[])).concat([...prefixes.keys()]);
      for (const name of new Set(list)) if (PREFIX.test(name)) await watchPrefix(name);
    }).catch(onError);
  };

  let top: FSWatcher | null = null;
  const ready = (async () => {
    top = watch(objectsDir, { persistent: true }, onTopEvent);
    top.on('error', onError);
    const names = await readdir(objectsDir);
    for (const name of names) if (PREFIX.test(name)) await watchPrefix(name);
  })();
  ready.catch(onError);
  return {
    ready,
    async close() {
      closed = true;
      top?.close();
      for (const { watcher } of prefixes.values()) watcher.close();
      prefixes.clear();
      await prefixQueue.catch(() => undefined);
      await queue;
    },
  };
}
