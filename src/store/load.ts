/**
 * Loading and verifying checkpoints. Every load hashes every blob; a missing or mismatching blob becomes a
 * CheckpointMissing / CheckpointCorrupted event and an error STORE_CORRUPT naming the checkpoint and the blob,
 * and `latest` / `best` fall back to the next checkpoint of that kind that verifies. A blob lost from the main
 * store is taken from a verified backup when one has it (and copied back).
 */
import type { CheckpointState } from '../checkpoint.js';
import { CkptError, hasCode } from '../errors.js';
import type { CatalogEntry } from '../projections/catalog.js';
import { BlobFault, BlobStore } from './blobs.js';
import { appendEvent, catalogOf, entryOf, type StoreContext } from './context.js';
import { shortHash } from './hash.js';
import { decodeManifest, manifestBlobs, type Manifest } from './manifest.js';
import { readCheckpointState, readManifest } from './read.js';
import { candidates, type CheckpointRef, formatRef, parseRef } from './refs.js';
import { backupBlobPath } from './backup-layout.js';

export interface LoadedCheckpoint {
  id: string;
  manifest: Manifest;
  state: CheckpointState;
}

export interface VerifyResult {
  checkpoint: string;
  ok: boolean;
  blobs: number;
  bytes: number;
  /** Set when not ok. */
  fault?: { kind: 'missing' | 'corrupt'; blob: string; detail: string };
}

/** Read one blob of `entry`, verified; when the main copy is bad, try its backups and repair the main copy. */
async function readBlobOf(ctx: StoreContext, entry: CatalogEntry, hash: string): Promise<Buffer> {
  try {
    return await ctx.blobs.read(hash);
  } catch (error) {
    if (!(error instanceof BlobFault)) throw error;
    for (const target of entry.backups) {
      try {
        const bytes = await new BlobStore(target).read(hash, backupBlobPath(target, hash));
        await ctx.mutex.run(async () => {
          if (error.kind === 'corrupt') await ctx.blobs.remove([hash]);
          await ctx.blobs.put(bytes);
        });
        return bytes;
      } catch {
        // this backup does not have a good copy either; try the next
      }
    }
    throw error;
  }
}

async function recordFault(ctx: StoreContext, entry: CatalogEntry, fault: BlobFault): Promise<CkptError> {
  if (fault.kind === 'missing') await appendEvent(ctx, entry.run, 'CheckpointMissing', { checkpoint: entry.id, blob: fault.hash });
  else await appendEvent(ctx, entry.run, 'CheckpointCorrupted', { checkpoint: entry.id, blob: fault.hash, expected: fault.hash, actual: fault.actual, detail: fault.message });
  return new CkptError(
    'STORE_CORRUPT',
    `${entry.id}: blob ${shortHash(fault.hash)}… is ${fault.kind === 'missing' ? 'missing' : 'corrupt (hash mismatch)'}; load another checkpoint or restore it from a backup`,
    { cause: fault, details: { checkpoint: entry.id, blob: fault.hash, kind: fault.kind, actual: fault.actual } },
  );
}

function checkLoadable(entry: CatalogEntry): void {
  if (entry.status === 'pruned') throw new CkptError('STORE_PRUNED', `${entry.id} was pruned; its blobs are gone. Pick another with \`ckpt list\``, { details: { checkpoint: entry.id } });
}

/**
 * Load one checkpoint by id, verifying every blob. A checkpoint marked corrupt that verifies again (repaired)
 * gets a CheckpointVerified event.
 * @example const { state } = await loadById(ctx, 'ckpt-3')
 */
export async function loadById(ctx: StoreContext, id: string): Promise<LoadedCheckpoint> {
  const entry = entryOf(ctx, id);
  checkLoadable(entry);
  try {
    const read = (hash: string) => readBlobOf(ctx, entry, hash);
    const manifest = await readManifest(entry.manifest, read, id);
    const state = await readCheckpointState(manifest, read);
    if (entry.status !== 'kept') await appendEvent(ctx, entry.run, 'CheckpointVerified', { checkpoint: id, blobs: entry.blobs.length, bytes: entry.bytes.logical });
    return { id, manifest, state };
  } catch (error) {
    if (error instanceof BlobFault) throw await recordFault(ctx, entry, error);
    throw error;
  }
}

/**
 * Load the checkpoint a reference means, falling back (for latest / best / epoch refs) to the next candidate
 * that verifies. Throws STORE_NOT_FOUND when nothing matches, STORE_CORRUPT when no candidate verifies.
 * @example const { id, state } = await loadRef(ctx, 'best:val_loss')
 */
export async function loadRef(ctx: StoreContext, ref: string | CheckpointRef): Promise<LoadedCheckpoint> {
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const ids = candidates(catalogOf(ctx), parsed);
  if (ids.length === 0) {
    throw new CkptError('STORE_NOT_FOUND', `no checkpoint matches '${formatRef(parsed)}' in ${ctx.dir}; run \`ckpt list\` to see what exists`, { details: { ref: formatRef(parsed) } });
  }
  let last: unknown;
  for (const id of ids) {
    try {
      return await loadById(ctx, id);
    } catch (error) {
      if (parsed.kind === 'id' || !hasCode(error) || error.code !== 'STORE_CORRUPT') throw error;
      last = error;
    }
  }
  throw new CkptError('STORE_CORRUPT', `no checkpoint matching '${formatRef(parsed)}' verifies (${ids.length} tried); run \`ckpt verify --all\``, { cause: last, details: { tried: ids } });
}

/**
 * Hash every blob of one checkpoint without decoding it; records CheckpointVerified or the fault.
 * @example const { ok } = await verifyCheckpoint(ctx, 'ckpt-2')
 */
export async function verifyCheckpoint(ctx: StoreContext, id: string, recordSuccess = true): Promise<VerifyResult> {
  const entry = entryOf(ctx, id);
  checkLoadable(entry);
  let bytes = 0;
  try {
    const manifestBytes = await readBlobOf(ctx, entry, entry.manifest);
    bytes += manifestBytes.byteLength;
    const blobs = manifestBlobs(decodeManifest(manifestBytes, id));
    for (const hash of blobs) bytes += (await readBlobOf(ctx, entry, hash)).byteLength;
    if (recordSuccess || entry.status !== 'kept') await appendEvent(ctx, entry.run, 'CheckpointVerified', { checkpoint: id, blobs: blobs.length + 1, bytes });
    return { checkpoint: id, ok: true, blobs: blobs.length + 1, bytes };
  } catch (error) {
    if (!(error instanceof BlobFault)) throw error;
    await recordFault(ctx, entry, error);
    return { checkpoint: id, ok: false, blobs: entry.blobs.length, bytes, fault: { kind: error.kind, blob: error.hash, detail: error.message } };
  }
}

/**
 * Resolve a reference to an id. With `verify` (default) candidates are verified and the first good one wins.
 * @example const id = await resolveRef(ctx, 'run-1/latest')
 */
export async function resolveRef(ctx: StoreContext, ref: string | CheckpointRef, verify = true): Promise<string> {
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const ids = candidates(catalogOf(ctx), parsed);
  if (ids.length === 0) throw new CkptError('STORE_NOT_FOUND', `no checkpoint matches '${formatRef(parsed)}'; run \`ckpt list\` to see what exists`, { details: { ref: formatRef(parsed) } });
  if (!verify) return ids[0];
  for (const id of ids) {
    const result = await verifyCheckpoint(ctx, id, false);
    if (result.ok) return id;
    if (parsed.kind === 'id') throw new CkptError('STORE_CORRUPT', `${id}: blob ${shortHash(result.fault!.blob)}… is ${result.fault!.kind}; load another checkpoint`, { details: { checkpoint: id, blob: result.fault!.blob } });
  }
  throw new CkptError('STORE_CORRUPT', `no checkpoint matching '${formatRef(parsed)}' verifies (${ids.length} tried); run \`ckpt verify --all\``, { details: { tried: ids } });
}
