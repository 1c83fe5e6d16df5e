/**
 * Prune, gc and summary. Prune follows intent → delete → done: `PruneIntended` (durable) → unlink the blobs no
 * other live checkpoint references (reference counts from the catalog projection, never from a directory
 * listing) → `CheckpointPruned`. gc removes blobs no checkpoint references and leftover temp files.
 */
import { removeStagingDirs, staleStagingDirs, stagingRoot } from './staged.js';
import { unlink } from 'node:fs/promises';
import type { LedgerEvent } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import type { CheckpointPruned, Decision } from '../events.js';
import type { CatalogState } from '../projections/catalog.js';
import { appendEvent, catalogOf, entryOf, type StoreContext } from './context.js';
import { bestOf, latestOf, primaryMonitor } from './refs.js';

export interface PruneOptions {
  /** Seq of the durable PruneIntended that authorises this; when absent one is appended (rule `manual`). */
  intentSeq?: number;
  reason?: string;
}

async function pruneLocked(ctx: StoreContext, id: string, options: PruneOptions): Promise<LedgerEvent<CheckpointPruned>> {
  const entry = entryOf(ctx, id);
  if (entry.status === 'pruned') throw new CkptError('STORE_PRUNED', `${id} is already pruned`, { details: { checkpoint: id } });
  if (entry.pinned) throw new CkptError('STORE_PINNED', `${id} is pinned; run \`ckpt unpin ${id}\` before pruning it`, { details: { checkpoint: id } });
  let intentSeq = options.intentSeq;
  if (intentSeq === undefined) {
    const decision: Decision = { kind: 'prune', causeSeq: entry.seq, rule: 'manual', reason: options.reason ?? `prune ${id} on request`, run: entry.run, epoch: entry.epoch, step: entry.step, checkpoint: id };
    intentSeq = (await appendEvent(ctx, entry.run, 'PruneIntended', decision)).seq;
  }
  const refs = catalogOf(ctx).blobRefs;
  const unshared = entry.blobs.filter((blob) => (refs[blob] ?? 0) <= 1);
  const { deleted, bytes } = await ctx.blobs.remove(unshared);
  const data: CheckpointPruned = { checkpoint: id, intentSeq, blobsDeleted: deleted, bytesFreed: bytes };
  return appendEvent(ctx, entry.run, 'CheckpointPruned', data);
}

/**
 * Prune one checkpoint. Pinned checkpoints are refused (STORE_PINNED).
 * @example await prune(ctx, 'ckpt-2', { intentSeq: 41, reason: 'keepTopK: not in the top 3' })
 */
export async function prune(ctx: StoreContext, id: string, options: PruneOptions = {}): Promise<CheckpointPruned> {
  return (await pruneEvent(ctx, id, options)).data;
}

/**
 * `prune`, resolving with the CheckpointPruned event as stored.
 * @example const { seq } = await pruneEvent(ctx, 'ckpt-2', { intentSeq: 41 })
 */
export function pruneEvent(ctx: StoreContext, id: string, options: PruneOptions = {}): Promise<LedgerEvent<CheckpointPruned>> {
  return ctx.mutex.run(() => pruneLocked(ctx, id, options));
}

/**
 * Finish every prune whose intent is durable but whose done event is missing (a crash between the two).
 * Intents for pinned checkpoints are left alone. Returns what was pruned.
 * @example const finished = await finishPendingPrunes(ctx)
 */
export async function finishPendingPrunes(ctx: StoreContext): Promise<CheckpointPruned[]> {
  const done: CheckpointPruned[] = [];
  for (const [id, intentSeq] of Object.entries(catalogOf(ctx).pendingPrunes)) {
    const entry = catalogOf(ctx).checkpoints[id];
    if (!entry || entry.pinned || entry.status === 'pruned') continue;
    done.push(await prune(ctx, id, { intentSeq }));
  }
  return done;
}

export interface GcResult {
  dryRun: boolean;
  blobsDeleted: number;
  bytesFreed: number;
  tempsDeleted: number;
  /** The unreferenced blobs (deleted, or that would be with dryRun). */
  blobs: string[];
}

/**
 * Remove blobs that no committed, unpruned checkpoint references, and every leftover temp file.
 * @example const { bytesFreed } = await gc(ctx, { dryRun: false })
 */
export function gc(ctx: StoreContext, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  return ctx.mutex.run(async () => {
    const refs = catalogOf(ctx).blobRefs;
    const onDisk = await ctx.blobs.list();
    const garbage = onDisk.filter((b) => !(refs[b.hash] > 0));
    const temps = await ctx.blobs.temps();
    const dryRun = options.dryRun === true;
    let bytesFreed = garbage.reduce((n, b) => n + b.size, 0);
    let blobsDeleted = garbage.length;
    const staging = stagingRoot(ctx.blobs);
    let tempsDeleted = temps.length + (staging ? (await staleStagingDirs(staging)).length : 0);
    if (!dryRun) {
      const removed = await ctx.blobs.remove(garbage.map((b) => b.hash));
      blobsDeleted = removed.deleted;
      bytesFreed = removed.bytes;
      tempsDeleted = 0;
      for (const temp of temps) {
        await unlink(temp).then(() => tempsDeleted++, () => undefined);
      }
      if (staging) tempsDeleted += await removeStagingDirs(staging);
    }
    return { dryRun, blobsDeleted, bytesFreed, tempsDeleted, blobs: garbage.map((b) => b.hash) };
  });
}

export interface StoreSummary {
  dir: string;
  checkpoints: { total: number; kept: number; pruned: number; corrupt: number; missing: number; pinned: number };
  /** Live blobs (referenced by an unpruned checkpoint). */
  blobs: number;
  /** Sum of every unpruned checkpoint's logical size (what it would take without dedupe). */
  logicalBytes: number;
  /** Bytes the referenced blobs take on disk. */
  physicalBytes: number;
  /** logicalBytes / physicalBytes (1 when nothing is shared). */
  dedupeRatio: number;
  /** Bytes on disk that gc would reclaim. */
  garbageBytes: number;
  latest: string | null;
  best: string | null;
  bestByMetric: Record<string, string>;
}

/**
 * Counts, logical vs physical bytes, best and latest.
 * @example const { dedupeRatio } = await summary(ctx)
 */
export async function summary(ctx: StoreContext): Promise<StoreSummary> {
  const catalog = catalogOf(ctx);
  const entries = Object.values(catalog.checkpoints);
  const count = (status: string) => entries.filter((e) => e.status === status).length;
  const onDisk = await ctx.blobs.list();
  let physicalBytes = 0;
  let garbageBytes = 0;
  for (const blob of onDisk) {
    if (catalog.blobRefs[blob.hash] > 0) physicalBytes += blob.size;
    else garbageBytes += blob.size;
  }
  const logicalBytes = entries.filter((e) => e.status !== 'pruned').reduce((n, e) => n + e.bytes.logical, 0);
  return {
    dir: ctx.dir,
    checkpoints: { total: entries.length, kept: count('kept'), pruned: count('pruned'), corrupt: count('corrupt'), missing: count('missing'), pinned: entries.filter((e) => e.pinned && e.status !== 'pruned').length },
    blobs: Object.keys(catalog.blobRefs).length,
    logicalBytes,
    physicalBytes,
    dedupeRatio: physicalBytes > 0 ? logicalBytes / physicalBytes : 1,
    garbageBytes,
    latest: latestOf(catalog)?.id ?? null,
    best: bestOf(catalog)?.id ?? null,
    bestByMetric: bestByMetric(catalog),
  };
}

/** The best kept checkpoint of every monitored (or else primary) metric. */
function bestByMetric(catalog: CatalogState): Record<string, string> {
  const metrics = Object.keys(catalog.monitors);
  const primary = primaryMonitor(catalog);
  if (primary && !metrics.includes(primary)) metrics.push(primary);
  const found: Record<string, string> = {};
  for (const metric of metrics) {
    const best = bestOf(catalog, metric);
    if (best) found[metric] = best.id;
  }
  return found;
}
