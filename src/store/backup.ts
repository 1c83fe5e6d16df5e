/**
 * Backup: copy one checkpoint's blobs and descriptor to a target directory, verify every blob there, then
 * record `BackupVerified` (or `BackupFailed`). Loads take a lost or corrupt blob from a verified backup.
 */
import { resolve as resolvePath } from 'node:path';
import type { LedgerEvent } from '../../ledger/types.js';
import { CkptError, hasCode } from '../errors.js';
import type { BackupVerified } from '../events.js';
import { BlobStore } from './blobs.js';
import { backupBlobPath, backupDescriptorPath } from './backup-layout.js';
import { appendEvent, entryOf, type StoreContext } from './context.js';
import { writeFileDurable } from './fsync.js';
import { resolveRef, verifyCheckpoint } from './load.js';
import { encodeJson } from './manifest.js';

/**
 * Copy a checkpoint to `target` and verify it there.
 * @example const { blobs, bytes } = await backupCheckpoint(ctx, 'best', '/mnt/backup/ckpt')
 */
export async function backupCheckpoint(ctx: StoreContext, ref: string, target: string): Promise<BackupVerified> {
  return (await backupCheckpointEvent(ctx, ref, target)).data;
}

/**
 * `backupCheckpoint`, resolving with the BackupVerified event as stored.
 * @example const { seq } = await backupCheckpointEvent(ctx, 'ckpt-3', '/mnt/backup/ckpt')
 */
export async function backupCheckpointEvent(ctx: StoreContext, ref: string, target: string): Promise<LedgerEvent<BackupVerified>> {
  const id = await resolveRef(ctx, ref, false);
  const entry = entryOf(ctx, id);
  const dest = resolvePath(target);
  // Only a whole checkpoint is backed up: a pruned one has no blobs, and a damaged one must not become the copy
  // that later repairs it. Verifying first also records damage nobody had noticed yet.
  if (entry.status === 'pruned') throw new CkptError('STORE_PRUNED', `${id} was pruned; its blobs are gone, so there is nothing to back up`, { details: { checkpoint: id } });
  const check = entry.status === 'kept' ? await verifyCheckpoint(ctx, id, false) : undefined;
  if (!check?.ok) {
    throw new CkptError('STORE_CORRUPT', `${id} is ${check?.fault?.kind ?? entry.status}, so it cannot be backed up; run \`ckpt verify ${id}\` (it repairs from an existing backup) or back up another checkpoint`, { details: { checkpoint: id } });
  }
  try {
    const backup = new BlobStore(dest);
    await backup.init();
    let bytes = 0;
    for (const hash of entry.blobs) {
      const data = await ctx.blobs.read(hash);
      await backup.put(data);
      bytes += data.byteLength;
    }
    await writeFileDurable(backupDescriptorPath(dest, id), encodeJson({ checkpoint: id, run: entry.run, epoch: entry.epoch, step: entry.step, manifest: entry.manifest, blobs: entry.blobs, metrics: entry.metrics, weightsDigest: entry.weightsDigest, source: ctx.dir }));
    for (const hash of entry.blobs) await backup.check(hash, backupBlobPath(dest, hash));
    const data: BackupVerified = { checkpoint: id, target: dest, blobs: entry.blobs.length, bytes };
    return await appendEvent(ctx, entry.run, 'BackupVerified', data);
  } catch (error) {
    const code = hasCode(error) ? error.code : 'STORE_BACKUP_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    await appendEvent(ctx, entry.run, 'BackupFailed', { checkpoint: id, target: dest, code, message });
    throw new CkptError('STORE_BACKUP_FAILED', `backup of ${id} to ${dest} failed: ${message}; check the target directory and retry`, { cause: error, details: { checkpoint: id, target: dest } });
  }
}
