import type { Ledger, LedgerOptions } from './types.js';
import { LedgerCore } from './lib/core.js';
import { LevelStorage } from './lib/level-storage.js';
import { MemoryStorage } from './lib/memory-storage.js';

/**
 * Opens (creating if missing) the LevelDB ledger in directory `path` and restores its projections.
 * Rejects with LEDGER_LOCKED when another process owns the directory.
 * @example
 *   const ledger = await openLedger('.ckpt/ledger', { projections: [countByType] })
 *   await ledger.append([{ stream: 'run-1', type: 'EpochEnded', data: { epoch: 1 } }], { durable: true })
 */
export async function openLedger(path: string, options: LedgerOptions = {}): Promise<Ledger> {
  return LedgerCore.open(await LevelStorage.open(path), options);
}

/**
 * An in-memory ledger with exactly the behaviour of `openLedger` (same core, same encoding), gone on close.
 * @example const ledger = await openMemoryLedger(); await ledger.append([{ stream: 's', type: 't', data: 1 }])
 */
export async function openMemoryLedger(options: LedgerOptions = {}): Promise<Ledger> {
  return LedgerCore.open(new MemoryStorage(), options);
}
