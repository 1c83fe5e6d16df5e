import type { Ledger, LedgerOptions } from './types.js';
import { LedgerCore } from './lib/core.js';
import { PgStorage, type PgStorageOptions } from './lib/pg-storage.js';

export type PgLedgerOptions = LedgerOptions & PgStorageOptions;

/**
 * Opens (creating its tables if missing) the PostgreSQL ledger at `url`, schema `options.schema` (default
 * `ckpt`). Many processes may open and append to one ledger at once; each handle also sees the others' appends
 * (projections, `tail`) within one NOTIFY.
 * @example
 *   const ledger = await openPgLedger('postgres://ckpt@db:5432/ckpt', { projections: [countByType] })
 *   await ledger.append([{ stream: 'run-1', type: 'EpochEnded', data: { epoch: 1 } }], { durable: true })
 */
export async function openPgLedger(url: string, options: PgLedgerOptions = {}): Promise<Ledger> {
  return LedgerCore.open(await PgStorage.open(url, options), options);
}
