/**
 * The small surface a ledger backend provides. All ledger behaviour (ordering, idempotency, projections,
 * snapshots, tail, upcasting, errors) lives in lib/core.ts on top of this, so the LevelDB and in-memory
 * ledgers cannot drift apart. Adapters move bytes; they never decode records.
 */
export interface StoredRecord {
  seq: number;
  bytes: Uint8Array;
}

/**
 * Thrown by `write` of a storage other processes append to (PostgreSQL) when its lastSeq is not the batch's
 * `baseSeq`: nothing was written; the core reads the records it has not seen and plans the batch again.
 */
export class StorageBehind extends Error {
  constructor(readonly lastSeq: number) {
    super(`the storage is at seq ${lastSeq}, ahead of this ledger handle`);
    this.name = 'StorageBehind';
  }
}

/** One atomic write: new records (with the id-index entry when `indexId`), and snapshots to overwrite. */
export interface StorageBatch {
  /** The lastSeq the records' seqs follow (shared storages refuse the write when it is stale). */
  baseSeq: number;
  records: { seq: number; id: string; indexId: boolean; bytes: Uint8Array }[];
  snapshots: { name: string; bytes: Uint8Array }[];
}

export interface LedgerStorage {
  /** Where the data lives, for messages ("memory" for the in-memory backend). */
  readonly location: string;
  /** Seq of the newest stored record, 0 when empty. */
  lastSeq(): Promise<number>;
  /** Seq of each id in the id index (undefined when absent), in input order. */
  seqsOfIds(ids: readonly string[]): Promise<(number | undefined)[]>;
  /** Bytes of the record at seq, or undefined. */
  record(seq: number): Promise<Uint8Array | undefined>;
  /** Records with fromSeq <= seq <= toSeq in seq order, in chunks of at most `chunkSize`. */
  scan(fromSeq: number, toSeq: number, chunkSize: number): AsyncIterable<StoredRecord[]>;
  /** Bytes of the stored snapshot of a projection, or undefined. */
  snapshot(name: string): Promise<Uint8Array | undefined>;
  /** Writes the batch atomically; with `sync`, resolves after it (and everything before it) is fsynced. */
  write(batch: StorageBatch, sync: boolean): Promise<void>;
  /**
   * Shared storages only: call `onAppended(lastSeq)` whenever another writer may have appended (a hint; the core
   * reads the records itself). Stops at close().
   */
  watch?(onAppended: (lastSeq: number) => void): void;
  /** Makes every earlier write durable (fsync) without adding records. */
  sync(): Promise<void>;
  close(): Promise<void>;
}
