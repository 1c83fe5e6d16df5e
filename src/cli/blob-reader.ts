/**
 * Loading a checkpoint's content without owning the ledger: blobs are immutable, content-addressed files, so
 * any process may read (and hash-verify) them while another process owns the directory. Used by `diff` and
 * `eval`, which therefore work during training. A bad blob is STORE_CORRUPT naming the checkpoint; recording
 * the fault is left to the owner (`ckpt verify`).
 */
import type { CheckpointState, WireState } from '../checkpoint.js';
import { CkptError } from '../errors.js';
import { BlobFault, BlobStore } from '../store/index.js';
import { readCheckpointFiles, readCheckpointState, readManifest } from '../store/read.js';
import type { CatalogEntry } from '../projections/catalog.js';

/**
 * @example const state = await loadCheckpointState('./checkpoints', resolveViewRef(viewState, 'best'))
 */
export function loadCheckpointState(dir: string, checkpoint: Pick<CatalogEntry, 'id' | 'manifest' | 'status'>): Promise<CheckpointState> {
  return load(dir, checkpoint, 'memory') as Promise<CheckpointState>;
}

/**
 * The same, with raw tensors as their verified blobs' paths (for a trainer with the `stage` capability, which reads
 * them itself: a big model is never held here).
 * @example const wire = await loadCheckpointFiles('./checkpoints', entry)
 */
export function loadCheckpointFiles(dir: string, checkpoint: Pick<CatalogEntry, 'id' | 'manifest' | 'status'>): Promise<WireState> {
  return load(dir, checkpoint, 'files');
}

async function load(dir: string, checkpoint: Pick<CatalogEntry, 'id' | 'manifest' | 'status'>, form: 'memory' | 'files'): Promise<WireState> {
  if (checkpoint.status === 'pruned') {
    throw new CkptError('STORE_PRUNED', `${checkpoint.id} was pruned; its weights are gone (its history remains: \`ckpt why ${checkpoint.id}\`)`, { details: { checkpoint: checkpoint.id } });
  }
  const blobs = new BlobStore(dir);
  const read = (hash: string) => blobs.read(hash);
  try {
    const manifest = await readManifest(checkpoint.manifest, read, checkpoint.id);
    return form === 'files' ? await readCheckpointFiles(manifest, read, (hash) => blobs.check(hash), (hash) => blobs.path(hash)) : await readCheckpointState(manifest, read);
  } catch (error) {
    if (error instanceof BlobFault) {
      throw new CkptError('STORE_CORRUPT', `${checkpoint.id}: blob ${error.hash.slice(0, 12)}… is ${error.kind}; run \`ckpt verify ${checkpoint.id}\` to record it, or pick another checkpoint`, { cause: error, details: { checkpoint: checkpoint.id, blob: error.hash } });
    }
    throw error;
  }
}
