/**
 * `ckpt repair` as a function: make `<dir>/ledger` usable again and put back what the store holds beyond it.
 *
 * 1. The ledger opens and reads cleanly → keep it (method `completed`).
 * 2. Otherwise copy it and run LevelDB's own repair on the copy; if that reads cleanly use it (`leveldb`),
 *    else copy the copy's readable prefix into a fresh ledger (`rebuilt`). The damaged directory is moved to
 *    `ledger.damaged-<time>` (never deleted) and the new one takes its place.
 * 3. Complete from the store: every complete manifest the ledger does not know becomes a checkpoint again
 *    (with its run and training history when the ledger lost them), kept checkpoints whose files are gone are
 *    recorded as pruned, and one LedgerRecovered event says what could not be recovered.
 */
import { existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CkptError } from '../errors.js';
import type { LedgerRecovered } from '../events.js';
import { loadPolicy } from '../run/load-policy.js';
import { DEFAULTS } from '../run/train.js';
import { BlobFault } from '../store/blobs.js';
import { fsyncDir } from '../store/fsync.js';
import type { Manifest } from '../store/manifest.js';
import { BUILTIN_TRAINERS } from '../trainers.js';
import { openWorkspace, type Workspace } from '../workspace.js';
import { prunedOutsideLedger } from './drift.js';
import { recoveryEvents, type RecoverableManifest, type RunSettings } from './recover.js';
import { checkLedger, copyReadablePrefix, levelRepairCopy } from './salvage.js';
import { findUnknownManifests, knownBlobs, listBlobNames } from './store-scan.js';

/** Settings for runs whose RunStarted was lost and whose manifests do not say (train's defaults otherwise). */
export interface RepairOptions {
  trainer?: string;
  epochs?: number;
  seed?: number;
  batchSize?: number;
  policy?: string;
}

export interface RepairReport {
  dir: string;
  /** What the ledger check said before anything was done. */
  before: { ok: boolean; lastSeq: number; error?: { code: string; message: string } };
  /** LevelDB's own repair's error, when it failed. */
  levelRepairError: string | null;
  /** The LedgerRecovered event as appended, or null when there was nothing to recover. */
  recovered: LedgerRecovered | null;
  /** Events in the repaired ledger. */
  events: number;
}


/**
 * Repair the ckpt directory `dir` (no process may own it).
 * @example const report = await repairDirectory('./checkpoints'); console.log(report.recovered?.checkpoints)
 */
export async function repairDirectory(dir: string, options: RepairOptions = {}): Promise<RepairReport> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'ledger')) && !existsSync(join(root, 'objects'))) {
    throw new CkptError('STORE_NOT_FOUND', `no ckpt directory at ${root} (neither ledger/ nor objects/); pass the right --dir`, { details: { dir: root } });
  }
  const ledgerDir = join(root, 'ledger');
  const before = existsSync(ledgerDir) ? await checkLedger(ledgerDir) : { ok: false, lastSeq: 0, error: { code: 'LEDGER_MISSING', message: 'no ledger/ directory' } };
  if (before.error?.code === 'LEDGER_LOCKED') {
    throw new CkptError('LEDGER_LOCKED', `${before.error.message}; ckpt repair needs the directory to itself`, { details: { dir: root } });
  }
  let header: { method: LedgerRecovered['method']; damaged: string | null; keptEvents: number; droppedEvents: number | null; lost: string[] };
  let levelRepairError: string | null = null;
  if (before.ok) {
    header = { method: 'completed', damaged: null, keptEvents: before.lastSeq, droppedEvents: null, lost: [] };
  } else {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const work = join(root, `ledger.repair-${stamp}`);
    let replacement = work;
    let kept: number;
    let dropped: number | null = null;
    const lost: string[] = [];
    if (existsSync(ledgerDir)) {
      const level = await levelRepairCopy(ledgerDir, work);
      levelRepairError = level.error;
      if (level.setAside.length) lost.push(`the events in ${level.setAside.join(', ')}, which LevelDB's repair could not read (kept in the damaged directory)`);
    }
    const repaired = existsSync(work) ? await checkLedger(work) : { ok: false, lastSeq: 0 };
    if (repaired.ok) {
      kept = repaired.lastSeq;
    } else {
      replacement = join(root, `ledger.rebuilt-${stamp}`);
      const prefix = await copyReadablePrefix(work, replacement);
      await rm(work, { recursive: true, force: true });
      kept = prefix.kept;
      dropped = prefix.claimed === null ? null : Math.max(0, prefix.claimed - prefix.kept);
      lost.push(prefix.claimed === null
        ? 'every event of the damaged ledger (it could not be read at all): decisions and their reasons, skips, tags, pins, backups, crashes and resumes'
        : `events ${prefix.kept + 1}..${prefix.claimed} of the damaged ledger (after the first unreadable record) and any after them`);
    }
    const damaged = existsSync(ledgerDir) ? join(root, `ledger.damaged-${stamp}`) : null;
    if (damaged) await rename(ledgerDir, damaged);
    await rename(replacement, ledgerDir);
    await fsyncDir(root);
    header = { method: repaired.ok ? 'leveldb' : 'rebuilt', damaged, keptEvents: kept, droppedEvents: dropped, lost };
  }
  const ws = await openWorkspace(root, { create: true, allowBehindStore: true });
  try {
    const recovered = await completeFromStore(ws, header, options);
    return { dir: root, before, levelRepairError, recovered, events: ws.ledger.lastSeq };
  } finally {
    await ws.close();
  }
}

async function completeFromStore(
  ws: Workspace,
  header: { method: LedgerRecovered['method']; damaged: string | null; keptEvents: number; droppedEvents: number | null; lost: string[] },
  options: RepairOptions,
): Promise<LedgerRecovered | null> {
  const catalog = ws.store.catalog();
  const present = await listBlobNames(ws.store.blobs.objectsDir);
  const scan = await findUnknownManifests(ws.store.blobs, present, knownBlobs(catalog));
  const skipped = scan.unreadable.map((u) => ({ manifest: u.manifest, reason: u.reason }));
  const manifests: RecoverableManifest[] = [];
  for (const item of scan.found) {
    if (!item.complete) {
      const missing = item.blobs.filter((b) => !present.has(b)).length;
      skipped.push({ manifest: item.hash, reason: `${missing} of its ${item.blobs.length} blobs are not in the store (an unfinished save, or pruned)` });
      continue;
    }
    manifests.push(await verifyManifest(ws, item.hash, item.manifest, item.blobs));
  }
  // An empty listing is no evidence of prunes (no local objects/ at all, e.g. another blob store): mark none.
  const behind = manifests.length > 0 || header.method !== 'completed';
  const lostPrunes = behind && present.size > 0 ? prunedOutsideLedger(catalog, present) : [];
  if (header.method === 'completed' && manifests.length === 0 && lostPrunes.length === 0) return null;
  const settings: Record<string, RunSettings> = {};
  for (const item of manifests) {
    if (!catalog.runs[item.manifest.run] && !settings[item.manifest.run]) settings[item.manifest.run] = await runSettings(item.manifest, manifests, options);
  }
  const { events, recovered } = recoveryEvents({
    catalog, lastSeq: ws.ledger.lastSeq, manifests, lostPrunes, settings, pid: process.pid, now: Date.now(),
    header: { ...header, skipped },
  });
  await ws.ledger.append(events, { durable: true, expectedSeq: ws.ledger.lastSeq });
  return recovered;
}

/** Read every blob of a manifest (hash-checked) and record their sizes; the first bad blob marks it corrupt. */
async function verifyManifest(ws: Workspace, hash: string, manifest: Manifest, blobs: string[]): Promise<RecoverableManifest> {
  const sizes: Record<string, number> = {};
  let corrupt: RecoverableManifest['corrupt'];
  for (const blob of blobs) {
    try {
      sizes[blob] = await ws.store.blobs.check(blob);
    } catch (error) {
      if (!(error instanceof BlobFault)) throw error;
      sizes[blob] = (await stat(ws.store.blobs.path(blob)).catch(() => ({ size: 0 }))).size;
      corrupt ??= { blob, actual: error.actual, detail: error.message };
    }
  }
  return { hash, manifest, sizes, ...(corrupt ? { corrupt } : {}) };
}

/**
 * A lost run's settings: from its newest manifest's trainer state where the trainer recorded them (the built-in
 * tfjs trainers keep `seed` and `config`), else from the repair options, else train's defaults — those are
 * listed as `assumed`.
 */
async function runSettings(manifest: Manifest, all: RecoverableManifest[], options: RepairOptions): Promise<RunSettings> {
  const newest = all.filter((m) => m.manifest.run === manifest.run).at(-1)!.manifest;
  const state = newest.trainerState as { seed?: unknown; config?: Record<string, unknown> };
  const config = state.config && typeof state.config === 'object' ? state.config : undefined;
  const assumed: Record<string, unknown> = {};
  const pick = <T>(name: string, fromState: unknown, option: T | undefined, fallback: T, ok: (v: unknown) => v is T): T => {
    if (ok(fromState)) return fromState;
    const value = option ?? fallback;
    assumed[name] = value;
    return value;
  };
  const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
  const seed = pick('seed', state.seed, options.seed, DEFAULTS.seed, isInt);
  const epochs = pick('epochs', config?.epochs, options.epochs, newest.epoch, isInt);
  const batchSize = pick('batchSize', config?.batchSize, options.batchSize, DEFAULTS.batchSize, isInt);
  const policySpec = options.policy ?? DEFAULTS.policy;
  assumed.policy = policySpec;
  const policy = (await loadPolicy(policySpec)).config as unknown as Record<string, unknown>;
  const trainer = options.trainer ?? ((BUILTIN_TRAINERS as readonly string[]).includes(newest.trainer) ? newest.trainer : undefined);
  if (trainer === undefined) assumed.trainer = 'unknown: pass --trainer to ckpt train --resume';
  const extra = config ? Object.fromEntries(Object.entries(config).filter(([k]) => !['epochs', 'batchSize', 'batchEvery'].includes(k))) : {};
  if (!config) assumed.trainerConfig = {};
  const resolved = trainer && !(BUILTIN_TRAINERS as readonly string[]).includes(trainer) ? resolve(trainer) : trainer;
  return {
    seed, epochs, batchSize, policy, trainerVersion: 'unknown',
    trainerConfig: { ...(resolved ? { trainer: resolved } : {}), config: extra },
    assumed,
  };
}
