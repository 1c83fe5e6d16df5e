import type { LedgerStorage, StorageBatch, StoredRecord } from './storage.js';

/**
 * In-memory backend: the same encoded bytes as on disk, held in arrays and maps. Writes are atomic because
 * they happen in one synchronous step; `sync` has nothing to flush.
 * @example const storage = new MemoryStorage(); await storage.write({ baseSeq: 0, records: [], snapshots: [] }, true)
 */
export class MemoryStorage implements LedgerStorage {
  readonly location = 'memory';
  // records[seq - 1]: seqs are dense because the core assigns them one by one.
  private readonly records: Uint8Array[] = [];
  private readonly ids = new Map<string, number>();
  private readonly snapshots = new Map<string, Uint8Array>();

  async lastSeq(): Promise<number> {
    return this.records.length;
  }

  async seqsOfIds(ids: readonly string[]): Promise<(number | undefined)[]> {
    return ids.map((id) => this.ids.get(id));
  }

  async record(seq: number): Promise<Uint8Array | undefined> {
    return seq >= 1 ? this.records[seq - 1] : undefined;
  }

  async *scan(fromSeq: number, toSeq: number, chunkSize: number): AsyncIterable<StoredRecord[]> {
    let seq = Math.max(1, fromSeq);
    while (seq <= Math.min(toSeq, this.records.length)) {
      const end = Math.min(toSeq, this.records.length, seq + chunkSize - 1);
      const chunk: StoredRecord[] = [];
      for (; seq <= end; seq++) chunk.push({ seq, bytes: this.records[seq - 1] });
      yield chunk;
    }
  }

  async snapshot(name: string): Promise<Uint8Array | undefined> {
    return this.snapshots.get(name);
  }

  async write(batch: StorageBatch, _sync: boolean): Promise<void> {
    for (const { seq, id, indexId, bytes } of batch.records) {
      this.records[seq - 1] = bytes;
      if (indexId) this.ids.set(id, seq);
    }
    for (const { name, bytes } of batch.snapshots) this.snapshots.set(name, bytes);
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {}
}
