/**
 * The open-time check that the ledger is not behind its store. A torn write-ahead log (a killed run whose
 * `ledger/*.log` lost its tail) makes LevelDB open at an earlier point: committed checkpoints are then in
 * `objects/` but not in the ledger, and a prune the ledger no longer knows has removed blobs it still lists.
 * Continuing on such a ledger would reuse seqs and checkpoint ids, and gc or a pending prune would delete blobs
 * of the forgotten checkpoints; so opening a workspace refuses with LEDGER_BEHIND_STORE until `ckpt repair`.
 *
 * Cost per open: one directory listing of `objects/`, opening only blobs the ledger does not reference (normally
 * none; a crashed save leaves a few) and reading one ledger event per unknown manifest.
 */
import type { Ledger } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import type { LedgerBehindStore, StoreManifestFact } from '../events.js';
import type { CatalogState } from '../projections/catalog.js';
import type { CheckpointStore } from '../store/store.js';
import { findUnknownManifests, knownBlobs, listBlobNames, type FoundManifest } from './store-scan.js';

export interface Drift {
  /** Complete manifests the ledger certainly lost the commit of (their decision is missing too). */
  manifests: StoreManifestFact[];
  /** Kept checkpoints whose manifest blob is gone, while the ledger is known to be behind (a lost prune). */
  lostPrunes: string[];
}

/**
 * Compare the store with the ledger. A complete unknown manifest counts only when the ledger also lacks the
 * SaveDecided that authorised it (its `decisionSeq` is past the ledger's end or names another event): a save
 * interrupted between its blobs and its commit leaves a manifest whose decision *is* in the ledger, which is an
 * ordinary leftover (gc removes it), not a rollback.
 * @example const drift = await detectDrift(ws.store, ws.ledger); if (drift.manifests.length) warn(drift)
 */
export async function detectDrift(store: CheckpointStore, ledger: Ledger): Promise<Drift> {
  const catalog = store.catalog();
  const present = await listBlobNames(store.blobs.objectsDir);
  const { found } = await findUnknownManifests(store.blobs, present, knownBlobs(catalog));
  const manifests: StoreManifestFact[] = [];
  for (const item of found) if (item.complete && (await decisionLost(ledger, item))) manifests.push(manifestFact(item));
  const lostPrunes = manifests.length === 0 ? [] : prunedOutsideLedger(catalog, present);
  return { manifests, lostPrunes };
}

/** The run/epoch/step facts of a found manifest. */
export function manifestFact(item: FoundManifest): StoreManifestFact {
  const { run, epoch, step, decisionSeq } = item.manifest;
  return { manifest: item.hash, run, epoch, step, ...(decisionSeq !== undefined ? { decisionSeq } : {}) };
}

/** Kept checkpoints whose manifest blob is no longer in the store. */
export function prunedOutsideLedger(catalog: CatalogState, present: Set<string>): string[] {
  return catalog.order.filter((id) => {
    const entry = catalog.checkpoints[id];
    return entry.status !== 'pruned' && !present.has(entry.manifest);
  });
}

async function decisionLost(ledger: Ledger, item: FoundManifest): Promise<boolean> {
  const { decisionSeq, run, epoch, step } = item.manifest;
  if (decisionSeq === undefined) return false;
  if (decisionSeq > ledger.lastSeq) return true;
  for await (const event of ledger.read({ fromSeq: decisionSeq, toSeq: decisionSeq })) {
    const d = event.data as { run?: string; epoch?: number; step?: number };
    return !(event.type === 'SaveDecided' && event.stream === run && d.epoch === epoch && (d.step === undefined || d.step === step));
  }
  return true;
}

/**
 * The refusal, with what was found and the command that fixes it.
 * @example throw behindStoreError('./checkpoints', drift)
 */
export function behindStoreError(dir: string, drift: Drift): CkptError {
  return new CkptError('LEDGER_BEHIND_STORE', `${describeDrift(drift)}; stopped before changing anything (the finding is recorded): run \`npx ckpt repair --dir ${dir}\` to bring them back`, {
    details: { dir, manifests: drift.manifests, lostPrunes: drift.lostPrunes },
  });
}

/** One line: what the store holds that the ledger lost. */
export function describeDrift(drift: Drift): string {
  const shown = drift.manifests.slice(0, 4).map((m) => `${m.run} epoch ${m.epoch}`).join(', ');
  const more = drift.manifests.length > 4 ? `, +${drift.manifests.length - 4} more` : '';
  const prunes = drift.lostPrunes.length ? ` and it still lists ${drift.lostPrunes.join(', ')} whose files a lost prune removed` : '';
  return `the ledger is behind its store (a torn write-ahead log?): ${drift.manifests.length} committed checkpoint${drift.manifests.length === 1 ? '' : 's'} in objects/ (${shown}${more}) ${drift.manifests.length === 1 ? 'is' : 'are'} not in it${prunes}`;
}

/**
 * Record the detection (once per distinct finding: not again when the newest event already says the same).
 * @example await recordDrift(ws.ledger, drift, advice)
 */
export async function recordDrift(ledger: Ledger, drift: Drift, advice: string): Promise<void> {
  const data: LedgerBehindStore = { manifests: drift.manifests, lostPrunes: drift.lostPrunes, ledgerSeq: ledger.lastSeq, advice };
  for await (const last of ledger.read({ fromSeq: ledger.lastSeq, toSeq: ledger.lastSeq })) {
    const prev = last.data as LedgerBehindStore;
    if (last.type === 'LedgerBehindStore' && sameManifests(prev.manifests, drift.manifests)) return;
  }
  await ledger.append([{ stream: 'store', type: 'LedgerBehindStore', data }], { durable: true });
}

function sameManifests(a: StoreManifestFact[] | undefined, b: StoreManifestFact[]): boolean {
  return a !== undefined && a.length === b.length && a.every((m, i) => m.manifest === b[i].manifest);
}
