import { Packr } from 'msgpackr';
import { LedgerError } from '../errors.js';
import type { LedgerEvent } from '../types.js';

// useRecords:false: every record is self-describing plain msgpack, so it decodes in a fresh process without
// shared structure definitions. moreTypes:false keeps the format plain (no extension types, no code on load).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** The stored form of a projection snapshot. */
export interface SnapshotRecord {
  name: string;
  version: number;
  seq: number;
  state: unknown;
}

/** msgpack bytes of an event envelope. @example encodeEvent(event).length // ~ 60 */
export function encodeEvent(event: LedgerEvent): Buffer {
  return packr.pack(event);
}

/** Like encodeEvent, but data msgpack cannot hold (symbols, cycles) is LEDGER_INVALID naming the event. */
export function encodeEventChecked(event: LedgerEvent): Buffer {
  try {
    return packr.pack(event);
  } catch (cause) {
    throw new LedgerError('LEDGER_INVALID', `event ${event.type} (id ${event.id}) has data msgpack cannot encode; append plain data only`, {
      cause,
      details: { id: event.id, type: event.type },
    });
  }
}

/**
 * The envelope stored at `seq`; throws LEDGER_CORRUPT (with the seq) when the bytes do not decode to an
 * envelope carrying that seq.
 * @example decodeEvent(encodeEvent(e), e.seq).id === e.id
 */
export function decodeEvent(bytes: Uint8Array, seq: number): LedgerEvent {
  let event: LedgerEvent;
  try {
    event = packr.unpack(bytes) as LedgerEvent;
  } catch (cause) {
    throw corrupt(seq, cause);
  }
  if (event === null || typeof event !== 'object' || event.seq !== seq || typeof event.type !== 'string') {
    throw corrupt(seq, undefined);
  }
  return event;
}

function corrupt(seq: number, cause: unknown): LedgerError {
  return new LedgerError(
    'LEDGER_CORRUPT',
    `ledger record at seq ${seq} does not decode; restore the ledger directory from a backup or truncate after seq ${seq - 1}`,
    { cause, details: { seq } },
  );
}

/** msgpack bytes of a snapshot. */
export function encodeSnapshot(snapshot: SnapshotRecord): Buffer {
  return packr.pack(snapshot);
}

/** A stored snapshot, or undefined when it does not decode (the projection is then rebuilt from events). */
export function decodeSnapshot(bytes: Uint8Array): SnapshotRecord | undefined {
  try {
    const snapshot = packr.unpack(bytes) as SnapshotRecord;
    if (snapshot && typeof snapshot === 'object' && typeof snapshot.seq === 'number' && typeof snapshot.version === 'number') return snapshot;
  } catch {
    // An unreadable snapshot is only a lost shortcut: the events are the truth.
  }
  return undefined;
}
