/**
 * One PostgreSQL connection that comes back: a query that fails because the connection broke (server restart,
 * network cut) reconnects with backoff and runs again, until `reconnectMs` has passed without a server; then it
 * fails with LEDGER_IO. Errors that are not about the connection are never retried here.
 */
import pg from 'pg';
import { LedgerError } from '../errors.js';

// int8 (seq) as a JS number: seqs stay far below 2^53.
pg.types.setTypeParser(20, (value: string) => Number(value));

/** SQLSTATEs (and Node errno codes) meaning "the connection or server is gone for now". */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);

/** True when retrying on a fresh connection may succeed. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (e?.code !== undefined && CONNECTION_CODES.has(e.code)) return true;
  return /Connection terminated|Client has encountered a connection error|not queryable|connection is closed/i.test(e?.message ?? '');
}

/** host:port/database of a connection string, without user or password (for messages). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the PostgreSQL server';
  }
}

/** A LedgerError for a failure to reach or use the server, saying what to check. */
export function pgError(url: string, error: unknown, doing: string): LedgerError {
  if (error instanceof LedgerError) return error;
  const code = (error as { code?: string }).code;
  const where = describeUrl(url);
  if (code === '28P01' || code === '28000') {
    return new LedgerError('LEDGER_INVALID', `PostgreSQL at ${where} refused the login; check the user and password in the ledger URL`, { cause: error, details: { location: where, code } });
  }
  if (code === '3D000') {
    return new LedgerError('LEDGER_INVALID', `PostgreSQL at ${where} has no such database; create it or fix the ledger URL`, { cause: error, details: { location: where, code } });
  }
  if (isConnectionError(error)) {
    return new LedgerError('LEDGER_IO', `cannot reach PostgreSQL at ${where} to ${doing}; check that the server runs and the ledger URL`, { cause: error, details: { location: where, code } });
  }
  return new LedgerError('LEDGER_IO', `PostgreSQL at ${where} failed to ${doing}: ${(error as Error).message}`, { cause: error, details: { location: where, code } });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @example
 *   const session = await PgSession.connect(url, 30_000)
 *   const rows = await session.run((client) => client.query('SELECT 1'))
 */
export class PgSession {
  private client: pg.Client | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly url: string, private readonly reconnectMs: number) {}

  /** Connects once (no retry: a wrong URL at open fails at once). */
  static async connect(url: string, reconnectMs: number): Promise<PgSession> {
    const session = new PgSession(url, reconnectMs);
    session.client = await session.newClient();
    return session;
  }

  /**
   * Runs `op` on the connection; when the connection breaks, reconnects and runs it again with `retry` true
   * (so the op can first check whether its earlier attempt committed), until `reconnectMs` passed.
   */
  run<T>(op: (client: pg.Client, retry: boolean) => Promise<T>): Promise<T> {
    // One query at a time on the connection (pg deprecates overlapping queries on one client).
    const result = this.queue.then(() => this.runNow(op));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(op: (client: pg.Client, retry: boolean) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.reconnectMs;
    let retry = false;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        if (this.closed) throw new Error('connection is closed');
        this.client ??= await this.newClient();
        return await op(this.client, retry);
      } catch (error) {
        if (this.closed || !isConnectionError(error) || Date.now() + delay > deadline) throw error;
        this.drop();
        retry = true;
        await sleep(delay);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }

  private async newClient(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'ckpt-ledger' });
    // An idle connection that breaks emits 'error'; the next query then reconnects.
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }
}
