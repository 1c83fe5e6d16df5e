/**
 * The checkpoint store of one ckpt directory: content-addressed blobs under `objects/`, manifests, and the
 * checkpoint facts in the ledger. One object per directory, created by `openWorkspace` (or `createStore`
 * when you already hold a ledger).
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import type { WireState } from '../checkpoint.js';
import type { BackupVerified, CheckpointCommitted, CheckpointPinned, CheckpointPruned, CheckpointTagged } from '../events.js';
import { CATALOG, type CatalogEntry, type CatalogState, catalogProjection } from '../projections/catalog.js';
import { backupCheckpoint, backupCheckpointEvent } from './backup.js';
import { type BlobBackend, BlobStore } from './blobs.js';
import { commitCheckpoint, commitCheckpointEvent } from './commit.js';
import { type Compression, encodingFor } from './compression.js';
import { appendEvent, catalogOf, entryOf, type StoreContext } from './context.js';
import { type ExportOptions, type ExportResult, exportCheckpoint } from './export.js';
import { importBundle, type ImportResult } from './bundle-import.js';
import { type LoadedCheckpoint, type TensorForm, loadById, loadRef, resolveRef, verifyCheckpoint, type VerifyResult } from './load.js';
import { finishPendingPrunes, gc, type GcResult, prune, pruneEvent, type PruneOptions, summary, type StoreSummary } from './maintenance.js';
import { Mutex } from './lock.js';
import { hasCode } from '../errors.js';
import type { CheckpointRef } from './refs.js';
import type { CommitMeta } from './write.js';

export interface StoreOptions {
  /** Compression of new blobs; default 'none'. */
  compression?: Compression;
  /** Where blobs live; default local files under `<dir>/objects` (an S3BlobStore for `--store s3://…`). */
  blobs?: BlobBackend;
}

/** `B`: the blob backend's type — local files unless the store was created over another (S3). */
export class CheckpointStore<B extends BlobBackend = BlobStore> {
  readonly dir: string;
  readonly blobs: B;
  readonly ledger: Ledger;
  /** @internal shared with the operation functions */
  readonly ctx: StoreContext;

  constructor(dir: string, ledger: Ledger, options: StoreOptions = {}) {
    this.dir = dir;
    this.ledger = ledger;
    this.blobs = (options.blobs ?? new BlobStore(dir)) as B;
    this.ctx = { dir, blobs: this.blobs, ledger, encoding: encodingFor(options.compression ?? 'none'), mutex: new Mutex() };
  }

  /** The catalog projection's current state (checkpoints, statuses, best, latest, refcounts). */
  catalog(): CatalogState {
    return catalogOf(this.ctx);
  }

  /** One catalog entry; throws STORE_NOT_FOUND. @example store.entry('ckpt-3').metrics */
  entry(id: string): CatalogEntry {
    return entryOf(this.ctx, id);
  }

  /**
   * Write a checkpoint (blobs → manifest → durable CheckpointCommitted) and return the event data.
   * @example const { checkpoint } = await store.commit(state, { run: 'run-1', epoch: 2, step: 40, metrics: { loss: 0.3 }, trainer: 'mlp', backend: 'cpu' })
   */
  commit(state: WireState, meta: CommitMeta): Promise<CheckpointCommitted> {
    return commitCheckpoint(this.ctx, state, meta);
  }

  /**
   * The facts `commit`, `prune` and `backup` record, as stored (seq, ledger id, at): what the decision processor
   * feeds back to the policy.
   * @example const committed = await store.recorded.commit(state, meta); committed.seq
   */
  readonly recorded = {
    commit: (state: WireState, meta: CommitMeta): Promise<LedgerEvent<CheckpointCommitted>> => commitCheckpointEvent(this.ctx, state, meta),
    prune: (id: string, options: PruneOptions = {}): Promise<LedgerEvent<CheckpointPruned>> => pruneEvent(this.ctx, id, options),
    backup: (ref: string, target: string): Promise<LedgerEvent<BackupVerified>> => backupCheckpointEvent(this.ctx, ref, target),
  };

  /**
   * Load a checkpoint by reference (`ckpt-3`, `latest`, `best`, `best:val_acc`, `epoch:4`, `run-2/latest`),
   * verifying every blob; latest/best fall back to the next candidate that verifies.
   * @example const { id, manifest, state } = await store.load('best')
   */
  load(ref: string | CheckpointRef): Promise<LoadedCheckpoint> {
    return loadRef(this.ctx, ref);
  }

  /** Load exactly this id (no fallback). @example await store.loadId('ckpt-2') */
  loadId(id: string): Promise<LoadedCheckpoint> {
    return loadById(this.ctx, id);
  }

  /** loadId with raw tensors as verified blob paths (TensorForm 'files'), for a trainer that reads staged files. */
  loadIdFiles(id: string): Promise<LoadedCheckpoint<WireState>> {
    return loadById(this.ctx, id, 'files');
  }

  /**
   * The id a reference means. With `verify` (default true) candidates are hashed and the first that verifies wins.
   * @example await store.resolve('run-1/latest') // 'ckpt-7'
   */
  resolve(ref: string | CheckpointRef, options: { verify?: boolean } = {}): Promise<string> {
    return resolveRef(this.ctx, ref, options.verify ?? true);
  }

  /**
   * The newest checkpoint (of `run`, or of any run) that verifies, or null when there is none: what resume uses.
   * @example const resume = await store.loadNewestVerified('run-1')
   */
  async loadNewestVerified(run?: string): Promise<LoadedCheckpoint | null>;
  async loadNewestVerified(run: string | undefined, form: TensorForm): Promise<LoadedCheckpoint<WireState> | null>;
  async loadNewestVerified(run?: string, form: TensorForm = 'memory'): Promise<LoadedCheckpoint<WireState> | null> {
    try {
      return await loadRef(this.ctx, { kind: 'latest', run }, form);
    } catch (error) {
      if (hasCode(error) && ['CLI_REF_UNKNOWN', 'STORE_CORRUPT', 'STORE_PRUNED'].includes(error.code)) return null;
      throw error;
    }
  }

  /**
   * Hash every blob of the given checkpoints (default: every unpruned one); records Verified/Corrupted/Missing.
   * `onResult` hears each checkpoint's result as it is recorded (progress: done of total).
   * @example const bad = (await store.verify()).filter((r) => !r.ok)
   */
  async verify(ids?: string[], onResult?: (result: VerifyResult, done: number, total: number) => void): Promise<VerifyResult[]> {
    const catalog = this.catalog();
    const targets = ids ?? catalog.order.filter((id) => catalog.checkpoints[id].status !== 'pruned');
    const results: VerifyResult[] = [];
    for (const id of targets) {
      results.push(await verifyCheckpoint(this.ctx, id));
      onResult?.(results[results.length - 1], results.length, targets.length);
    }
    return results;
  }

  /** Prune one checkpoint (intent → delete unshared blobs → done). @example await store.prune('ckpt-1', { intentSeq: 12 }) */
  prune(id: string, options: PruneOptions = {}): Promise<CheckpointPruned> {
    return prune(this.ctx, id, options);
  }

  /** Finish prune intents left without a done event. Called by openWorkspace. */
  finishPendingPrunes(): Promise<CheckpointPruned[]> {
    return finishPendingPrunes(this.ctx);
  }

  /** Remove unreferenced blobs and temp files. @example await store.gc({ dryRun: true }) */
  gc(options: { dryRun?: boolean } = {}): Promise<GcResult> {
    return gc(this.ctx, options);
  }

  /** Counts, logical vs physical bytes, dedupe ratio, best, latest. */
  summary(): Promise<StoreSummary> {
    return summary(this.ctx);
  }

  /** Add tags (and optionally set the description). @example await store.tag('ckpt-4', ['shipped'], 'v1 release') */
  async tag(id: string, tags: string[], description?: string): Promise<CheckpointTagged> {
    const entry = this.entry(id);
    const data: CheckpointTagged = { checkpoint: id, tags: [...tags], ...(description !== undefined ? { description } : {}) };
    await appendEvent(this.ctx, entry.run, 'CheckpointTagged', data);
    return data;
  }

  /** Pin: retention never prunes it. @example await store.pin('ckpt-4', 'shipped model') */
  async pin(id: string, reason?: string): Promise<CheckpointPinned> {
    const entry = this.entry(id);
    const data: CheckpointPinned = { checkpoint: id, ...(reason !== undefined ? { reason } : {}) };
    await appendEvent(this.ctx, entry.run, 'CheckpointPinned', data);
    return data;
  }

  /** Unpin. @example await store.unpin('ckpt-4') */
  async unpin(id: string, reason?: string): Promise<CheckpointPinned> {
    const entry = this.entry(id);
    const data: CheckpointPinned = { checkpoint: id, ...(reason !== undefined ? { reason } : {}) };
    await appendEvent(this.ctx, entry.run, 'CheckpointUnpinned', data);
    return data;
  }

  /**
   * Export as a tfjs model directory, a .safetensors file or a portable bundle (.ckpt tar).
   * @example await store.exportCheckpoint('best', { format: 'tfjs', out: './model' })
   */
  exportCheckpoint(ref: string, options: ExportOptions): Promise<ExportResult> {
    return exportCheckpoint(this.ctx, ref, options);
  }

  /** Import a bundle after verifying every hash; writes nothing when anything is wrong (STORE_IMPORT_*). */
  importBundle(path: string): Promise<ImportResult> {
    return importBundle(this.ctx, path);
  }

  /** Copy a checkpoint to `target`, verify it there, record BackupVerified. */
  backup(ref: string, target: string): Promise<BackupVerified> {
    return backupCheckpoint(this.ctx, ref, target);
  }
}

/**
 * A store over a ledger you already opened (the catalog projection is registered when missing).
 * @example const store = await createStore(dir, await openMemoryLedger())
 */
export async function createStore<B extends BlobBackend = BlobStore>(dir: string, ledger: Ledger, options: StoreOptions & { blobs?: B } = {}): Promise<CheckpointStore<B>> {
  try {
    ledger.state(CATALOG);
  } catch {
    await ledger.register(catalogProjection);
  }
  const store = new CheckpointStore<B>(dir, ledger, options);
  await store.blobs.init();
  return store;
}
