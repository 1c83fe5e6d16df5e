/**
 * On-disk key layout. Every key starts with one tag byte so the kinds never interleave:
 *   'e' + seq (8 bytes, big-endian)  → event record (msgpack envelope); byte order is seq order
 *   'i' + id (utf-8)                 → seq of that id (8 bytes, big-endian): the idempotency index
 *   's' + projection name (utf-8)    → newest snapshot {name, version, seq, state}
 *   'm' + name                       → ledger metadata ('msync': an empty value rewritten to force an fsync)
 */
export const EVENT_TAG = 0x65; // 'e'
export const ID_TAG = 0x69; // 'i'
export const SNAPSHOT_TAG = 0x73; // 's'
/** Rewritten with a sync write when a durable call has nothing new to write but earlier writes are not synced. */
export const SYNC_MARKER_KEY = Buffer.from('msync');

const TWO_POW_32 = 0x1_0000_0000;

/** Writes `value` (a safe integer >= 0) as 8 big-endian bytes at `offset`. */
export function writeSeq(target: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  const low = value >>> 0;
  target[offset] = high >>> 24;
  target[offset + 1] = (high >>> 16) & 0xff;
  target[offset + 2] = (high >>> 8) & 0xff;
  target[offset + 3] = high & 0xff;
  target[offset + 4] = low >>> 24;
  target[offset + 5] = (low >>> 16) & 0xff;
  target[offset + 6] = (low >>> 8) & 0xff;
  target[offset + 7] = low & 0xff;
}

/** Reads 8 big-endian bytes at `offset` as a number. */
export function readSeq(source: Uint8Array, offset: number): number {
  const high = ((source[offset] << 24) >>> 0) + (source[offset + 1] << 16) + (source[offset + 2] << 8) + source[offset + 3];
  const low = ((source[offset + 4] << 24) >>> 0) + (source[offset + 5] << 16) + (source[offset + 6] << 8) + source[offset + 7];
  return high * TWO_POW_32 + low;
}

/** Key of the event record with this seq. @example eventKey(1) // <65 00 00 00 00 00 00 00 01> */
export function eventKey(seq: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = EVENT_TAG;
  writeSeq(key, 1, seq);
  return key;
}

/** Seq encoded in an event key. @example seqOfEventKey(eventKey(7)) // 7 */
export function seqOfEventKey(key: Uint8Array): number {
  return readSeq(key, 1);
}

/** Key of the id index entry. @example idKey('a1') // <69 61 31> */
export function idKey(id: string): Buffer {
  const key = Buffer.allocUnsafe(1 + Buffer.byteLength(id));
  key[0] = ID_TAG;
  key.write(id, 1, 'utf8');
  return key;
}

/** Key of a projection's snapshot. */
export function snapshotKey(name: string): Buffer {
  const key = Buffer.allocUnsafe(1 + Buffer.byteLength(name));
  key[0] = SNAPSHOT_TAG;
  key.write(name, 1, 'utf8');
  return key;
}

/** 8-byte big-endian value of a seq (the id index value). */
export function seqValue(seq: number): Buffer {
  const value = Buffer.allocUnsafe(8);
  writeSeq(value, 0, seq);
  return value;
}
