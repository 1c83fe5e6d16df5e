/**
 * The workspace's open-time guard: refuse to use a ledger that is behind its store (see drift.ts).
 */
import type { Ledger } from '../../ledger/types.js';
import { type BlobBackend, BlobStore } from '../store/blobs.js';
import type { CheckpointStore } from '../store/store.js';
import { behindStoreError, detectDrift, recordDrift } from './drift.js';

/**
 * Detect drift; when found, record a LedgerBehindStore event and throw LEDGER_BEHIND_STORE with the repair command.
 * @example await refuseIfBehindStore('/abs/checkpoints', store, ledger)
 */
export async function refuseIfBehindStore(dir: string, store: CheckpointStore<BlobBackend>, ledger: Ledger): Promise<void> {
  // The check lists the local objects/ directory; a store on S3 is not checked here (docs/scale.md).
  if (!(store.blobs instanceof BlobStore)) return;
  const drift = await detectDrift(store as CheckpointStore, ledger);
  if (drift.manifests.length === 0) return;
  const error = behindStoreError(dir, drift);
  await recordDrift(ledger, drift, `npx ckpt repair --dir ${dir}`).catch(() => undefined);
  throw error;
}
