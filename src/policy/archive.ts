/**
 * The milestone archive: checkpoints kept forever, in commit order, stored as a list of chunks so that appending
 * one stays cheap as the archive grows. A flat array would be copied on every milestone (the state is immutable),
 * O(n²) over a run: ~16k milestones in a 1M-epoch run with hour milestones. Chunks are full (ARCHIVE_CHUNK
 * records) except the last, and are never changed once in a state: an append copies the last chunk and the list
 * of chunk references (~260 references at 16k milestones instead of 16k). Plain arrays of arrays, so the state
 * stays plain data.
 */
import { append } from './state.js';
import type { TrackedCheckpoint } from './types.js';

export type Archive = TrackedCheckpoint[][];

/** Records per full chunk. */
export const ARCHIVE_CHUNK = 128;

/** A new archive with `record` appended (the input is not changed). */
export function archiveAppend(archive: Archive, record: TrackedCheckpoint): Archive {
  const n = archive.length;
  if (n === 0 || archive[n - 1].length >= ARCHIVE_CHUNK) return append(archive, [record]);
  const next = archive.slice();
  next[n - 1] = append(archive[n - 1], record);
  return next;
}

/** Every archived record, in commit order (a new array). */
export function archiveList(archive: Archive): TrackedCheckpoint[] {
  const all: TrackedCheckpoint[] = [];
  for (const chunk of archive) for (const c of chunk) all.push(c);
  return all;
}

/** Chunk a commit-ordered list (after a rare removal or replacement). */
export function archiveOf(list: readonly TrackedCheckpoint[]): Archive {
  const archive: Archive = [];
  for (let i = 0; i < list.length; i += ARCHIVE_CHUNK) archive.push(list.slice(i, i + ARCHIVE_CHUNK));
  return archive;
}

/** The archived record with this id, if any. */
export function archiveFind(archive: Archive, id: string): TrackedCheckpoint | undefined {
  for (const chunk of archive) for (const c of chunk) if (c.id === id) return c;
  return undefined;
}
