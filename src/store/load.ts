/**
 * Loading and verifying checkpoints. Every load hashes every blob; a missing or mismatching blob becomes a
 * CheckpointMissing / CheckpointCorrupted event and an error STORE_CORRUPT naming the checkpoint and the blob,
 * and `latest` / `best` fall back to the next checkpoint of that kind that verifies. A blob lost from the main
 * store is taken from a verified backup when one has it (and copied back).
 */
import type { CheckpointState, WireState } from '../checkpoint.js';
import { CkptError, hasCode } from '../errors.js';
import { type CatalogEntry, verifiedBackups } from '../projections/catalog.js';
import { BlobFault, BlobStore } from './blobs.js';
import { appendEvent, catalogOf, entryOf, type StoreContext } from './context.js';
import { shortHash } from './hash.js';
import { decodeManifest, manifestBlobs, type Manifest } from './manifest.js';
import { readCheckpointFiles, readCheckpointState, readManifest } from './read.js';
import { type CheckpointRef, formatRef, parseRef, resolveRef as resolveIn } from './refs.js';
import { backupBlobPath } from './backup-layout.js';

export interface LoadedCheckpoint<S extends WireState = CheckpointState> {
  id: string;
  manifest: Manifest;
  state: S;
}

/**
 * How a load hands tensors over: `memory` (bytes), or `files` — each raw-stored tensor as its verified blob's path
 * (a staged tensor, for a trainer with the `stage` capability; only a local store has paths, S3 loads to memory).
 */
export type TensorForm = 'memory' | 'files';

export interface VerifyResult {
  checkpoint: string;
  ok: boolean;
  blobs: number;
  bytes: number;
  /** Set when not ok. */
  fault?: { kind: 'missing' | 'corrupt'; blob: string; detail: string };
  /** Blobs that were damaged or lost here and were restored from a verified backup (each recorded as an event). */
  repaired?: Repair[];
}

export interface Repair { blob: string; fault: 'missing' | 'corrupt'; from: string }

/**
 * Read one blob of `entry`, verified. When the main copy is bad and a verified backup has a good one, the fault
 * is recorded (CheckpointCorrupted / CheckpointMissing), the main copy replaced, and the repair recorded
 * (CheckpointRepaired) and pushed onto `repairs`.
 */
function readBlobOf(ctx: StoreContext, entry: CatalogEntry, hash: string, repairs: Repair[] = []): Promise<Buffer> {
  return verifiedOrRepaired(ctx, entry, hash, () => ctx.blobs.read(hash), (bytes) => bytes, repairs);
}

/** The same check without keeping the bytes (`BlobBackend.check`); returns the blob's size. */
function checkBlobOf(ctx: StoreContext, entry: CatalogEntry, hash: string, repairs: Repair[] = []): Promise<number> {
  return verifiedOrRepaired(ctx, entry, hash, () => ctx.blobs.check(hash), (bytes) => bytes.byteLength, repairs);
}

/** `verify()` the main copy; on a BlobFault, repair it from the first verified backup with a good copy (the one path). */
async function verifiedOrRepaired<T>(ctx: StoreContext, entry: CatalogEntry, hash: string, verify: () => Promise<T>, fromBackup: (bytes: Buffer) => T, repairs: Repair[]): Promise<T> {
  try {
    return await verify();
  } catch (error) {
    if (!(error instanceof BlobFault)) throw error;
    for (const target of verifiedBackups(entry)) {
      let bytes: Buffer;
      try {
        // A backup is a local directory, whatever this store's blob backend is.
        bytes = await new BlobStore(target).read(hash, backupBlobPath(target, hash));
      } catch {
        continue; // this backup does not have a good copy either; try the next
      }
      await appendFault(ctx, entry, error);
      await ctx.mutex.run(async () => {
        if (error.kind === 'corrupt') await ctx.blobs.remove([hash]);
        await ctx.blobs.put(bytes);
      });
      const repair: Repair = { blob: hash, fault: error.kind, from: target };
      await appendEvent(ctx, entry.run, 'CheckpointRepaired', { checkpoint: entry.id, ...repair });
      repairs.push(repair);
      return fromBackup(bytes);
    }
    throw error;
  }
}

function appendFault(ctx: StoreContext, entry: CatalogEntry, fault: BlobFault) {
  if (fault.kind === 'missing') return appendEvent(ctx, entry.run, 'CheckpointMissing', { checkpoint: entry.id, blob: fault.hash });
  return appendEvent(ctx, entry.run, 'CheckpointCorrupted', { checkpoint: entry.id, blob: fault.hash, expected: fault.hash, actual: fault.actual, detail: fault.message });
}

async function recordFault(ctx: StoreContext, entry: CatalogEntry, fault: BlobFault): Promise<CkptError> {
  await appendFault(ctx, entry, fault);
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
export async function loadById(ctx: StoreContext, id: string): Promise<LoadedCheckpoint>;
export async function loadById(ctx: StoreContext, id: string, form: TensorForm): Promise<LoadedCheckpoint<WireState>>;
export async function loadById(ctx: StoreContext, id: string, form: TensorForm = 'memory'): Promise<LoadedCheckpoint<WireState>> {
  const entry = entryOf(ctx, id);
  checkLoadable(entry);
  try {
    const read = (hash: string) => readBlobOf(ctx, entry, hash);
    const manifest = await readManifest(entry.manifest, read, id);
    const blobs = ctx.blobs;
    const state = form === 'files' && blobs instanceof BlobStore
      ? await readCheckpointFiles(manifest, read, (hash) => checkBlobOf(ctx, entry, hash), (hash) => blobs.path(hash))
      : await readCheckpointState(manifest, read);
    if (entry.status !== 'kept') await appendEvent(ctx, entry.run, 'CheckpointVerified', { checkpoint: id, blobs: entry.blobs.length, bytes: entry.bytes.logical });
    return { id, manifest, state };
  } catch (error) {
    if (error instanceof BlobFault) throw await recordFault(ctx, entry, error);
    throw error;
  }
}

/**
 * Load the checkpoint a reference means (resolved by the one resolver, src/store/refs.ts). A latest / best / epoch
 * ref whose checkpoint fails verification is recorded (CheckpointCorrupted / CheckpointMissing), which takes it
 * out of the ref's candidates; the ref is then resolved again, so the answer is the next one of that kind that
 * verifies, and every skipped one is an event. An id ref never falls back.
 * @example const { id, state } = await loadRef(ctx, 'best:val_loss')
 */
export async function loadRef(ctx: StoreContext, ref: string | CheckpointRef): Promise<LoadedCheckpoint>;
export async function loadRef(ctx: StoreContext, ref: string | CheckpointRef, form: TensorForm): Promise<LoadedCheckpoint<WireState>>;
export async function loadRef(ctx: StoreContext, ref: string | CheckpointRef, form: TensorForm = 'memory'): Promise<LoadedCheckpoint<WireState>> {
  return untilVerified(ctx, ref, (id) => loadById(ctx, id, form));
}

async function untilVerified<T>(ctx: StoreContext, ref: string | CheckpointRef, use: (id: string) => Promise<T>): Promise<T> {
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const tried: string[] = [];
  for (;;) {
    const id = resolveIn(catalogOf(ctx), parsed).id;
    if (tried.includes(id)) throw new CkptError('STORE_CORRUPT', `${id} ("${formatRef(parsed)}") does not verify; run \`ckpt verify --all\``, { details: { ref: formatRef(parsed), tried } });
    tried.push(id);
    try {
      return await use(id);
    } catch (error) {
      if (parsed.kind === 'id' || !hasCode(error) || error.code !== 'STORE_CORRUPT') throw error;
    }
  }
}

/**
 * Hash every blob of one checkpoint without decoding it; records CheckpointVerified or the fault.
 * @example const { ok } = await verifyCheckpoint(ctx, 'ckpt-2')
 */
export async function verifyCheckpoint(ctx: StoreContext, id: string, recordSuccess = true): Promise<VerifyResult> {
  const entry = entryOf(ctx, id);
  checkLoadable(entry);
  let bytes = 0;
  const repairs: Repair[] = [];
  try {
    const manifestBytes = await readBlobOf(ctx, entry, entry.manifest, repairs);
    bytes += manifestBytes.byteLength;
    const blobs = manifestBlobs(decodeManifest(manifestBytes, id));
    for (const hash of blobs) bytes += await checkBlobOf(ctx, entry, hash, repairs);
    if (recordSuccess || entry.status !== 'kept') await appendEvent(ctx, entry.run, 'CheckpointVerified', { checkpoint: id, blobs: blobs.length + 1, bytes });
    return { checkpoint: id, ok: true, blobs: blobs.length + 1, bytes, ...(repairs.length ? { repaired: repairs } : {}) };
  } catch (error) {
    if (!(error instanceof BlobFault)) throw error;
    await recordFault(ctx, entry, error);
    return { checkpoint: id, ok: false, blobs: entry.blobs.length, bytes, fault: { kind: error.kind, blob: error.hash, detail: error.message } };
  }
}

/**
 * Resolve a reference to an id with the one resolver. With `verify` (default) the answer is hashed first and, for
 * a latest / best / epoch ref, a damaged one is recorded and the next of that kind tried (as loadRef does).
 * @example const id = await resolveRef(ctx, 'run-1/latest')
 */
export async function resolveRef(ctx: StoreContext, ref: string | CheckpointRef, verify = true): Promise<string> {
  if (!verify) return resolveIn(catalogOf(ctx), ref).id;
  return untilVerified(ctx, ref, async (id) => {
    const result = await verifyCheckpoint(ctx, id, false);
    if (result.ok) return id;
    throw new CkptError('STORE_CORRUPT', `${id}: blob ${shortHash(result.fault!.blob)}… is ${result.fault!.kind}; run \`ckpt verify --all\` or restore it from a backup`, { details: { checkpoint: id, blob: result.fault!.blob } });
  });
}
