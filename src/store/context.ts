/**
 * What the store's operations share: the directory, its blobs, the ledger and a few helpers. Each operation
 * file (commit, load, prune, gc, export, import, backup) is a function of a StoreContext.
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import type { EventMap, EventType } from '../events.js';
import { CATALOG, type CatalogEntry, type CatalogState } from '../projections/catalog.js';
import type { BlobBackend } from './blobs.js';
import type { BlobEncoding } from './compression.js';
import type { Mutex } from './lock.js';

export interface StoreContext {
  dir: string;
  blobs: BlobBackend;
  ledger: Ledger;
  encoding: BlobEncoding;
  mutex: Mutex;
}

/** Current catalog projection state. */
export function catalogOf(ctx: StoreContext): CatalogState {
  return ctx.ledger.state<CatalogState>(CATALOG);
}

/** Catalog entry of an id; throws STORE_NOT_FOUND. */
export function entryOf(ctx: StoreContext, id: string): CatalogEntry {
  const checkpoints = catalogOf(ctx).checkpoints;
  const entry = Object.hasOwn(checkpoints, id) ? checkpoints[id] : undefined;
  if (!entry) throw new CkptError('STORE_NOT_FOUND', `no checkpoint ${id} in ${ctx.dir}; run \`ckpt list\` to see the ids`, { details: { checkpoint: id } });
  return entry;
}

/**
 * Append one domain event durably and return it as stored. `expectedSeq` makes it conditional (LEDGER_CONFLICT
 * when another writer appended first).
 * @example await appendEvent(ctx, 'run-1', 'CheckpointPinned', { checkpoint: 'ckpt-3' })
 */
export async function appendEvent<K extends EventType>(
  ctx: StoreContext, stream: string, type: K, data: EventMap[K], options: { id?: string; expectedSeq?: number } = {},
): Promise<LedgerEvent<EventMap[K]>> {
  const { id, expectedSeq } = options;
  const { events } = await ctx.ledger.append([{ stream, type, data, ...(id ? { id } : {}) }], { durable: true, ...(expectedSeq !== undefined ? { expectedSeq } : {}) });
  return events[0] as LedgerEvent<EventMap[K]>;
}
