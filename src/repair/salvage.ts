/**
 * Getting a usable ledger out of a damaged LevelDB directory: check it, let LevelDB repair a copy, and when
 * that still does not read cleanly, copy its readable prefix (seq 1 up to the first record that is missing or
 * does not decode) into a fresh ledger. Never writes to the damaged directory itself.
 */
import { ClassicLevel } from 'classic-level';
import { existsSync } from 'node:fs';
import { cp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openLedger } from '../../ledger/index.js';
import type { EventInput, LedgerEvent } from '../../ledger/types.js';
import { coreProjections } from '../projections/index.js';

export interface LedgerCheck {
  ok: boolean;
  lastSeq: number;
  /** The error's code and message when not ok. */
  error?: { code: string; message: string };
}

/**
 * Open `path` with the core projections and decode every record; `ok` only if all of it reads.
 * @example const { ok } = await checkLedger('./checkpoints/ledger')
 */
export async function checkLedger(path: string): Promise<LedgerCheck> {
  let lastSeq = 0;
  try {
    const ledger = await openLedger(path, { projections: coreProjections });
    try {
      lastSeq = ledger.lastSeq;
      for await (const _event of ledger.read()) void _event;
    } finally {
      await ledger.close();
    }
    return { ok: true, lastSeq };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'LEDGER_CORRUPT';
    return { ok: false, lastSeq, error: { code, message: (error as Error).message } };
  }
}

/**
 * Copy the damaged directory to `work` and run LevelDB's own repair (RepairDB) on the copy; the original stays
 * byte for byte as it was. Resolves with LevelDB's error message when its repair itself failed, and the table
 * and log files it set aside as unusable (moved to `lost/`).
 * @example const failure = await levelRepairCopy('./checkpoints/ledger', './checkpoints/ledger.repair-…')
 */
export async function levelRepairCopy(damaged: string, work: string): Promise<{ error: string | null; setAside: string[] }> {
  await cp(damaged, work, { recursive: true });
  await rm(join(work, 'LOCK.pid'), { force: true });
  // Files a previous repair already set aside are not this repair's findings.
  await rm(join(work, 'lost'), { recursive: true, force: true });
  let error: string | null = null;
  try {
    await ClassicLevel.repair(work);
  } catch (cause) {
    error = (cause as Error).message;
  }
  // RepairDB moves the files it could not use into lost/: their records are gone from the repaired copy.
  const setAside = await readdir(join(work, 'lost')).catch(() => [] as string[]);
  return { error, setAside: setAside.filter((name) => /\.(ldb|sst|log)$/.test(name)) };
}

/** What a prefix copy kept, and how far the damaged ledger claimed to go (null when it did not open). */
export interface PrefixCopy { kept: number; claimed: number | null }

/**
 * Append the readable prefix of the ledger at `from` (events 1..k, exactly as stored: ids, streams, types,
 * versions, times and data, so every seq reference inside them stays valid) to a new ledger at `to`.
 * @example const { kept } = await copyReadablePrefix(work, './checkpoints/ledger.rebuilt-…')
 */
export async function copyReadablePrefix(from: string, to: string): Promise<PrefixCopy> {
  const target = await openLedger(to);
  try {
    let source;
    try {
      if (!existsSync(from)) return { kept: 0, claimed: null };
      source = await openLedger(from);
    } catch {
      return { kept: 0, claimed: null };
    }
    try {
      let batch: EventInput[] = [];
      const flush = async () => {
        if (batch.length) await target.append(batch, { expectedSeq: target.lastSeq });
        batch = [];
      };
      const take = async (event: LedgerEvent) => {
        batch.push({ id: event.id, stream: event.stream, type: event.type, v: event.v, at: event.at, data: event.data });
        if (batch.length >= 1000) await flush();
      };
      let next = 1;
      try {
        for await (const event of source.read()) {
          await take(event);
          next = event.seq + 1;
        }
      } catch {
        // A chunk failed: the events of that chunk before the damage are still readable one at a time.
        await flush();
        try {
          for await (const event of source.read({ fromSeq: next, batchSize: 1 })) await take(event);
        } catch {
          // The first unreadable record ends the prefix.
        }
      }
      await flush();
      return { kept: target.lastSeq, claimed: source.lastSeq };
    } finally {
      await source.close().catch(() => undefined);
    }
  } finally {
    await target.close();
  }
}
