/**
 * The events that put what the store holds back into a ledger, as one pure function of what the ledger knows
 * (its read model) and the manifests found: a LedgerRecovered event first (it says what could not be recovered),
 * then per run a RunStarted when the ledger lost it, the EpochEnded events the manifests' histories carry beyond
 * the ledger's, each CheckpointCommitted, and CheckpointPruned for checkpoints a lost prune removed.
 * Every recovered event carries `recovered` in its data so the audit trail shows where it came from.
 */
import type { EventInput } from '../../ledger/types.js';
import type { CheckpointCommitted, CheckpointCorrupted, CheckpointPruned, EpochEnded, LedgerRecovered, RunStarted } from '../events.js';
import type { CatalogState } from '../projections/catalog.js';
import type { Manifest } from '../store/manifest.js';
import { manifestBlobs } from '../store/manifest.js';

/** A complete manifest to recover; `corrupt` when one of its blobs does not hash to its name. */
export interface RecoverableManifest {
  hash: string;
  manifest: Manifest;
  /** Stored size of every blob it references (manifest included). */
  sizes: Record<string, number>;
  corrupt?: { blob: string; actual: string | null; detail: string };
}

/** RunStarted settings for a run whose start the ledger lost; `assumed` names those not found in a manifest. */
export type RunSettings = Pick<RunStarted, 'seed' | 'epochs' | 'batchSize' | 'policy' | 'trainerConfig' | 'trainerVersion'> & { assumed: Record<string, unknown> };

export interface RecoveryInput {
  catalog: CatalogState;
  lastSeq: number;
  manifests: RecoverableManifest[];
  lostPrunes: string[];
  settings: Record<string, RunSettings>;
  header: Pick<LedgerRecovered, 'method' | 'damaged' | 'keptEvents' | 'droppedEvents' | 'skipped'> & { lost: string[] };
  pid: number;
  now: number;
}

/**
 * Build the recovery batch (append it as one durable batch at `lastSeq`).
 * @example const { events, recovered } = recoveryEvents({ catalog, lastSeq: ledger.lastSeq, ... })
 */
export function recoveryEvents(input: RecoveryInput): { events: EventInput[]; recovered: LedgerRecovered } {
  const { catalog, manifests } = input;
  const recoveredSeq = input.lastSeq + 1;
  const marker = { recoveredBy: recoveredSeq };
  const events: EventInput[] = [];
  const lost = [...input.header.lost];
  const newRuns: string[] = [];
  const lastEpoch = new Map<string, number>();
  const referenced = new Set(Object.keys(catalog.blobRefs));
  const recoveredCheckpoints: LedgerRecovered['checkpoints'] = [];
  let nextId = catalog.nextId;

  for (const item of manifests) {
    const m = item.manifest;
    if (!catalog.runs[m.run] && !newRuns.includes(m.run)) {
      newRuns.push(m.run);
      const s = input.settings[m.run];
      const data: RunStarted & typeof marker = {
        run: m.run, trainer: m.trainer, trainerVersion: s.trainerVersion, backend: m.backend, protocol: 1, seed: s.seed, epochs: s.epochs,
        batchSize: s.batchSize, trainerConfig: s.trainerConfig, policy: s.policy, pid: input.pid, ...marker,
      };
      events.push({ stream: m.run, type: 'RunStarted', at: m.createdAt, data });
      if (Object.keys(s.assumed).length) {
        lost.push(`${m.run}: its RunStarted; ${Object.entries(s.assumed).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')} assumed (not in any manifest)`);
      }
    }
    const from = lastEpoch.get(m.run) ?? catalog.runs[m.run]?.epoch ?? 0;
    for (const h of m.history) {
      if (h.epoch <= from || h.epoch > m.epoch) continue;
      const step = stepOf(manifests, m.run, h.epoch) ?? (h.epoch === m.epoch ? m.step : Math.round((m.step * h.epoch) / m.epoch));
      const data: EpochEnded & { recovered: unknown } = { run: m.run, epoch: h.epoch, step, metrics: h.metrics, ms: 0, recovered: { ...marker, stepKnown: stepOf(manifests, m.run, h.epoch) !== undefined } };
      events.push({ stream: m.run, type: 'EpochEnded', at: m.createdAt, data });
    }
    lastEpoch.set(m.run, Math.max(from, m.epoch));

    const checkpoint = `ckpt-${nextId++}`;
    const blobs = [item.hash, ...manifestBlobs(m)];
    const logical = blobs.reduce((sum, b) => sum + (item.sizes[b] ?? 0), 0);
    const fresh = blobs.filter((b) => !referenced.has(b)).reduce((sum, b) => sum + (item.sizes[b] ?? 0), 0);
    blobs.forEach((b) => referenced.add(b));
    const data: CheckpointCommitted & typeof marker = {
      checkpoint, run: m.run, epoch: m.epoch, step: m.step, manifest: item.hash, weightsDigest: m.weightsDigest, metrics: { ...m.metrics },
      bytes: { logical, new: fresh }, blobs, objects: Object.keys(m.objects), tags: [...(m.tags ?? [])],
      ...(m.description !== undefined ? { description: m.description } : {}),
      ...(m.labels?.length ? { labels: [...m.labels] } : {}),
      trainer: m.trainer, backend: m.backend, ...marker,
    };
    events.push({ stream: m.run, type: 'CheckpointCommitted', at: m.createdAt, data });
    recoveredCheckpoints.push({ checkpoint, manifest: item.hash, run: m.run, epoch: m.epoch, step: m.step });
    if (item.corrupt) {
      const fault: CheckpointCorrupted = { checkpoint, blob: item.corrupt.blob, expected: item.corrupt.blob, actual: item.corrupt.actual, detail: item.corrupt.detail };
      events.push({ stream: m.run, type: 'CheckpointCorrupted', at: input.now, data: fault });
    }
  }
  for (const id of input.lostPrunes) {
    const entry = catalog.checkpoints[id];
    const data: CheckpointPruned & typeof marker = { checkpoint: id, intentSeq: recoveredSeq, blobsDeleted: 0, bytesFreed: 0, ...marker };
    events.push({ stream: entry.run, type: 'CheckpointPruned', at: input.now, data });
  }
  if (manifests.length) {
    lost.push('the decisions behind recovered checkpoints (SaveDecided with its reason; the LedgerRecovered event stands in for them)');
    lost.push('the original ids of recovered checkpoints (new ids are given in commit order; manifests carry none)');
  }

  const recovered: LedgerRecovered = {
    method: input.header.method, damaged: input.header.damaged, keptEvents: input.header.keptEvents, droppedEvents: input.header.droppedEvents,
    runs: [...new Set(manifests.map((item) => item.manifest.run))], checkpoints: recoveredCheckpoints, prunes: [...input.lostPrunes],
    skipped: input.header.skipped, assumed: Object.fromEntries(newRuns.map((run) => [run, input.settings[run].assumed])), lost,
  };
  return { events: [{ stream: 'store', type: 'LedgerRecovered', at: input.now, data: recovered }, ...events], recovered };
}

/** The step of a run's epoch when some manifest was saved exactly at that epoch's end. */
function stepOf(manifests: RecoverableManifest[], run: string, epoch: number): number | undefined {
  return manifests.find((item) => item.manifest.run === run && item.manifest.epoch === epoch)?.manifest.step;
}
