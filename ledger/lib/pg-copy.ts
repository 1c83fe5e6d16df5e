/**
 * Copies a LevelDB ledger into a PostgreSQL ledger byte for byte (same seqs, ids, envelopes), so its history —
 * generated ids included — reads the same there. Idempotent and resumable: the records the target already holds
 * are compared with the source's (a target that is not a prefix of the source is refused) and only the rest is
 * copied, 1000 records per transaction. Projection snapshots are not copied: the target writes its own on first
 * open with projections.
 */
import { resolve } from 'node:path';
import { LedgerError } from '../errors.js';
import { decodeEvent } from './codec.js';
import { LevelStorage } from './level-storage.js';
import { PgStorage, type PgStorageOptions } from './pg-storage.js';
import { StorageBehind, type LedgerStorage, type StoredRecord } from './storage.js';

const CHUNK = 1000;

export interface LedgerCopyResult {
  /** Events in the source. */
  events: number;
  /** Events the target already held (verified equal). */
  verified: number;
  /** Events copied by this call. */
  copied: number;
}

/**
 * @example const { copied } = await copyLedgerToPg('./checkpoints/ledger', 'postgres://db/ckpt', { schema: 'team' })
 */
export async function copyLedgerToPg(fromDir: string, url: string, options: PgStorageOptions & { onProgress?: (seq: number, of: number) => void } = {}): Promise<LedgerCopyResult> {
  const source = await LevelStorage.open(resolve(fromDir));
  let target: PgStorage | undefined;
  try {
    target = await PgStorage.open(url, options);
    const events = await source.lastSeq();
    const verified = await target.lastSeq();
    if (verified > events) throw notACopy(target.location, verified, `it holds ${verified} events, the source ${events}`);
    for (let from = 1; from <= verified; from += CHUNK) {
      const to = Math.min(verified, from + CHUNK - 1);
      const [ours, theirs] = [await range(source, from, to), await range(target, from, to)];
      for (let i = 0; i < ours.length; i++) {
        if (theirs[i]?.seq !== ours[i].seq || !Buffer.from(theirs[i].bytes).equals(Buffer.from(ours[i].bytes))) throw notACopy(target.location, ours[i].seq, `seq ${ours[i].seq} differs`);
      }
      options.onProgress?.(to, events);
    }
    let base = verified;
    for await (const chunk of source.scan(verified + 1, events, CHUNK)) {
      const records = chunk.map(({ seq, bytes }) => ({ seq, id: decodeEvent(bytes, seq).id, indexId: true, bytes }));
      try {
        await target.write({ baseSeq: base, records, snapshots: [] }, false);
      } catch (error) {
        if (error instanceof StorageBehind) throw notACopy(target.location, error.lastSeq, 'another writer appended to it during the copy');
        throw error;
      }
      base = chunk[chunk.length - 1].seq;
      options.onProgress?.(base, events);
    }
    await target.sync();
    return { events, verified, copied: events - verified };
  } finally {
    await target?.close();
    await source.close();
  }
}

async function range(storage: LedgerStorage, from: number, to: number): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const chunk of storage.scan(from, to, CHUNK)) out.push(...chunk);
  return out;
}

function notACopy(location: string, seq: number, why: string): LedgerError {
  return new LedgerError('LEDGER_CONFLICT', `${location} is not a copy of this ledger (${why}); migrate into an empty ledger (another ?schema=)`, { details: { location, seq } });
}
