/**
 * PostgreSQL backend: a ledger many processes on many hosts append to. The ledger core stays the one
 * implementation; this adapter adds only what sharing needs — a write refused with StorageBehind when another
 * writer appended first (checked under an advisory lock, see pg-schema.ts), and `watch` (LISTEN/NOTIFY) so a
 * handle in another process learns of appends. Durable = committed with synchronous_commit on; a non-durable
 * write commits with synchronous_commit off (visible at once, flushed by the WAL writer or the next durable
 * commit), the same contract as LevelDB's unsynced writes.
 */
import { LedgerError } from '../errors.js';
import { listenForAppends, type PgListener } from './pg-listen.js';
import { SCHEMA_NAME, ensureSchema, notifyChannel } from './pg-schema.js';
import { PgSession, describeUrl, pgError } from './pg-session.js';
import { StorageBehind, type LedgerStorage, type StorageBatch, type StoredRecord } from './storage.js';

export interface PgStorageOptions {
  /** Schema holding this ledger's tables (default `ckpt`); one database can hold several ledgers. */
  schema?: string;
  /** How long a call keeps reconnecting to a server that went away before it fails with LEDGER_IO (default 30 s). */
  reconnectMs?: number;
}

/** @example const storage = await PgStorage.open('postgres://ckpt@db:5432/ckpt', { schema: 'team' }) */
export class PgStorage implements LedgerStorage {
  private listener: PgListener | undefined;
  private readonly t: string;

  private constructor(
    readonly location: string,
    private readonly url: string,
    private readonly schema: string,
    private readonly session: PgSession,
  ) {
    this.t = `"${schema}"`;
  }

  static async open(url: string, options: PgStorageOptions = {}): Promise<PgStorage> {
    const schema = options.schema ?? 'ckpt';
    if (!SCHEMA_NAME.test(schema)) {
      throw new LedgerError('LEDGER_INVALID', `ledger schema "${schema}" is not a plain lower-case identifier; pick one like "ckpt" or "team_a"`, { details: { schema } });
    }
    const location = `postgres://${describeUrl(url)}#${schema}`;
    let session: PgSession | undefined;
    try {
      session = await PgSession.connect(url, options.reconnectMs ?? 30_000);
      await session.run((client) => ensureSchema(client, schema));
    } catch (error) {
      await session?.close();
      throw pgError(url, error, 'open the ledger');
    }
    return new PgStorage(location, url, schema, session);
  }

  async lastSeq(): Promise<number> {
    const { rows } = await this.session.run((c) => c.query(`SELECT coalesce(max(seq), 0) AS last FROM ${this.t}.events`));
    return rows[0].last as number;
  }

  async seqsOfIds(ids: readonly string[]): Promise<(number | undefined)[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.session.run((c) => c.query(`SELECT id, seq FROM ${this.t}.events WHERE id = ANY($1::text[])`, [ids]));
    const found = new Map<string, number>(rows.map((row) => [row.id as string, row.seq as number]));
    return ids.map((id) => found.get(id));
  }

  async record(seq: number): Promise<Uint8Array | undefined> {
    const { rows } = await this.session.run((c) => c.query(`SELECT bytes FROM ${this.t}.events WHERE seq = $1`, [seq]));
    return rows[0]?.bytes as Buffer | undefined;
  }

  async *scan(fromSeq: number, toSeq: number, chunkSize: number): AsyncIterable<StoredRecord[]> {
    let from = Math.max(1, fromSeq);
    while (from <= toSeq) {
      const { rows } = await this.session.run((c) =>
        c.query({ text: `SELECT seq, bytes FROM ${this.t}.events WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`, values: [from, toSeq, chunkSize] }),
      );
      if (rows.length === 0) return;
      yield rows.map((row) => ({ seq: row.seq as number, bytes: row.bytes as Buffer }));
      from = (rows[rows.length - 1].seq as number) + 1;
    }
  }

  async snapshot(name: string): Promise<Uint8Array | undefined> {
    const { rows } = await this.session.run((c) => c.query(`SELECT bytes FROM ${this.t}.snapshots WHERE name = $1`, [name]));
    return rows[0]?.bytes as Buffer | undefined;
  }

  /**
   * One call of `<schema>.append()`: one statement, one transaction, one round trip. The records' bytes travel as
   * one binary parameter with offsets and lengths (a bytea[] would be sent as hex text, twice the size).
   */
  async write(batch: StorageBatch, sync: boolean): Promise<void> {
    const { records, snapshots } = batch;
    const offs: number[] = new Array(records.length);
    const lens: number[] = new Array(records.length);
    let total = 0;
    for (let i = 0; i < records.length; i++) {
      offs[i] = total;
      lens[i] = records[i].bytes.byteLength;
      total += lens[i];
    }
    const blob = Buffer.allocUnsafe(total);
    for (let i = 0; i < records.length; i++) blob.set(records[i].bytes, offs[i]);
    const values = [
      batch.baseSeq, records.map((r) => r.seq), records.map((r) => r.id), blob, offs, lens,
      snapshots.map((s) => s.name), snapshots.map((s) => Buffer.from(s.bytes)), sync,
    ];
    const first = records[0];
    const stored = await this.session.run(async (c, retry) => {
      if (retry && first !== undefined) {
        // The connection broke under the earlier attempt: it may have committed. A batch is atomic, so its first
        // record tells.
        const { rows } = await c.query(`SELECT id FROM ${this.t}.events WHERE seq = $1`, [first.seq]);
        if (rows[0]?.id === first.id) return batch.baseSeq;
      }
      // A named (prepared) statement: parsed and planned once per connection.
      const { rows } = await c.query({
        name: `ckpt_append_${this.schema}`,
        text: `SELECT ${this.t}.append($1, $2::bigint[], $3::text[], $4, $5::int[], $6::int[], $7::text[], $8::bytea[], $9) AS stored`,
        values,
      });
      return rows[0].stored as number;
    });
    if (stored !== batch.baseSeq) throw new StorageBehind(stored);
  }

  watch(onAppended: (lastSeq: number) => void): void {
    this.listener ??= listenForAppends(this.url, notifyChannel(this.schema), `SELECT coalesce(max(seq), 0) AS last FROM ${this.t}.events`, onAppended);
  }

  async sync(): Promise<void> {
    // Any commit with synchronous_commit on flushes the WAL up to its own record, which covers every earlier
    // asynchronous commit.
    await this.session.run((c) =>
      c.query(`INSERT INTO ${this.t}.meta (key, value) VALUES ('sync', now()::text) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    );
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.session.close();
  }
}
