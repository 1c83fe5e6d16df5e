/**
 * An append-only list that a pure projection can extend cheaply without ever mutating an earlier version: items
 * live in chunks of CHUNK; appending copies only the last chunk and the chunk index (O(CHUNK + n / CHUNK)), and
 * every earlier version (which the ledger keeps when a write fails, and readers may still hold) stays as it was.
 *
 * @example let log = emptyList<string>(); log = appended(log, 'a'); itemsOf(log) // ['a']
 */
export interface AppendOnly<T> {
  /** Full chunks of CHUNK items, then one partial chunk; never mutated once part of a version. */
  chunks: T[][];
  length: number;
}

const CHUNK = 128;

/** A fresh empty list. */
export function emptyList<T>(): AppendOnly<T> {
  return { chunks: [], length: 0 };
}

/**
 * A new version of the list with `item` appended; `list` itself is unchanged.
 * @example itemsOf(appended(appended(emptyList<number>(), 1), 2)) // [1, 2]
 */
export function appended<T>(list: AppendOnly<T>, item: T): AppendOnly<T> {
  const last = list.chunks[list.chunks.length - 1];
  const chunks = last && last.length < CHUNK ? [...list.chunks.slice(0, -1), [...last, item]] : [...list.chunks, [item]];
  return { chunks, length: list.length + 1 };
}

/**
 * The items of this version, oldest first (a fresh array).
 * @example itemsOf({ chunks: [[1, 2], [3]], length: 3 }) // [1, 2, 3]
 */
export function itemsOf<T>(list: AppendOnly<T>): T[] {
  return list.chunks.flat() as T[];
}

/**
 * The item with this `seq` in a list ordered by seq, found by binary search over the chunks (no copy).
 * @example findBySeq(state.decisions, 41)?.reason
 */
export function findBySeq<T extends { seq: number }>(list: AppendOnly<T>, seq: number): T | undefined {
  const chunks = list.chunks;
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const chunk = chunks[mid];
    if (seq < chunk[0].seq) hi = mid - 1;
    else if (seq > chunk[chunk.length - 1].seq) lo = mid + 1;
    else return searchChunk(chunk, seq);
  }
  return undefined;
}

function searchChunk<T extends { seq: number }>(chunk: readonly T[], seq: number): T | undefined {
  let lo = 0;
  let hi = chunk.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = chunk[mid].seq;
    if (at === seq) return chunk[mid];
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
