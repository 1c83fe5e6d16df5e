/**
 * The workspace's open-time guard: refuse to use a ledger that is behind its store (see drift.ts).
 */
import type { Ledger } from '../../ledger/types.js';
import type { CheckpointStore } from '../store/store.js';
import { behindStoreError, detectDrift, recordDrift } from './drift.js';

/**
 * Detect drift; when found, record a LedgerBehindStore event and throw LEDGER_BEHIND_STORE with the repair command.
 * @example await refuseIfBehindStore('/abs/checkpoints', store, ledger)
 */
export async function refuseIfBehindStore(dir: string, store: CheckpointStore, ledger: Ledger): Promise<void> {
  const drift = await detectDrift(store, ledger);
  if (drift.manifests.length === 0) return;
  const error = behindStoreError(dir, drift);
  await recordDrift(ledger, drift, `npx ckpt repair --dir ${dir}`).catch(() => undefined);
  throw error;
}
