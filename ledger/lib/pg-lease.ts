/**
 * Ownership of one stream (ckpt: one run) in a shared PostgreSQL ledger, by a lease row with heartbeats: many
 * writers on many hosts share the ledger, each owning its own streams. A lease names its holder (host, pid);
 * a holder renews it every `ttlMs / 3`; a holder that dies (kill -9, power cut, lost network) stops renewing and
 * the lease expires `ttlMs` after its last renewal, measured on the database's clock (hosts' clocks may
 * disagree), so another host can take the stream over. A second writer for a held stream gets LEDGER_LOCKED.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { LedgerError } from '../errors.js';
import { SCHEMA_NAME } from './pg-schema.js';
import { PgSession, pgError } from './pg-session.js';

export interface LeaseOptions {
  /** Schema of the ledger (default `ckpt`). */
  schema?: string;
  /** How long a lease outlives its holder's last heartbeat (default 15 s). */
  ttlMs?: number;
  /** Called once if a heartbeat finds the lease taken or expired: the holder must stop writing the stream. */
  onLost?: (error: LedgerError) => void;
}

export interface Lease {
  stream: string;
  host: string;
  pid: number;
  /** Stops the heartbeat and deletes the lease row (when still ours). */
  release(): Promise<void>;
}

const TABLE_SQL = (s: string): string =>
  `CREATE TABLE IF NOT EXISTS "${s}".leases (stream text PRIMARY KEY, holder text NOT NULL, host text NOT NULL, pid int NOT NULL, expires_at timestamptz NOT NULL)`;

/**
 * Takes the lease of `stream`, or rejects with LEDGER_LOCKED naming the live holder's host and pid.
 * @example
 *   const lease = await acquireLease(url, 'run-3', { ttlMs: 15_000, onLost: () => supervisor.abort() })
 *   try { ...train... } finally { await lease.release() }
 */
export async function acquireLease(url: string, stream: string, options: LeaseOptions = {}): Promise<Lease> {
  const schema = options.schema ?? 'ckpt';
  if (!SCHEMA_NAME.test(schema)) throw new LedgerError('LEDGER_INVALID', `ledger schema "${schema}" is not a plain lower-case identifier`, { details: { schema } });
  const ttlMs = options.ttlMs ?? 15_000;
  const host = hostname();
  const holder = `${host}:${process.pid}:${randomUUID()}`;
  const t = `"${schema}".leases`;
  let session: PgSession | undefined;
  try {
    session = await PgSession.connect(url, ttlMs);
    await session.run(async (c) => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch(() => undefined);
      await c.query(TABLE_SQL(schema)).catch(async (error: { code?: string }) => {
        // Two hosts creating the table at once: one wins, the other sees a unique violation. Both then proceed.
        if (error.code !== '23505' && error.code !== '42P07') throw error;
      });
    });
    const taken = await session.run((c) =>
      c.query(
        `INSERT INTO ${t} (stream, holder, host, pid, expires_at) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
         ON CONFLICT (stream) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, expires_at = excluded.expires_at
         WHERE ${t}.expires_at < now()
         RETURNING holder`,
        [stream, holder, host, process.pid, ttlMs],
      ),
    );
    if (taken.rowCount === 0) {
      const { rows } = await session.run((c) => c.query(`SELECT host, pid, greatest(0, extract(epoch FROM expires_at - now()) * 1000)::int AS left_ms FROM ${t} WHERE stream = $1`, [stream]));
      const owner = rows[0] ?? { host: 'another host', pid: 0, left_ms: 0 };
      throw new LedgerError(
        'LEDGER_LOCKED',
        `${stream} is owned by ${owner.host} (pid ${owner.pid}); stop that supervisor, or wait for its lease to expire (${Math.ceil(owner.left_ms / 1000)} s without heartbeat) and resume`,
        { details: { stream, host: owner.host, pid: owner.pid, expiresInMs: owner.left_ms } },
      );
    }
  } catch (error) {
    await session?.close();
    throw error instanceof LedgerError ? error : pgError(url, error, `take the lease of ${stream}`);
  }
  const live = session;
  let lost = false;
  const heartbeat = setInterval(() => {
    live
      .run((c) => c.query(`UPDATE ${t} SET expires_at = now() + $3 * interval '1 millisecond' WHERE stream = $1 AND holder = $2`, [stream, holder, ttlMs]))
      .then((result) => {
        if (result.rowCount === 0) loseLease(`the lease of ${stream} was taken over after it expired; stop writing ${stream}`);
      })
      .catch((error: unknown) => loseLease(`could not renew the lease of ${stream} (${(error as Error).message}); stop writing ${stream}`));
  }, Math.max(50, Math.floor(ttlMs / 3)));
  heartbeat.unref();
  function loseLease(message: string): void {
    if (lost) return;
    lost = true;
    clearInterval(heartbeat);
    options.onLost?.(new LedgerError('LEDGER_LOCKED', message, { details: { stream, host, pid: process.pid } }));
  }
  return {
    stream,
    host,
    pid: process.pid,
    async release() {
      clearInterval(heartbeat);
      lost = true;
      await live.run((c) => c.query(`DELETE FROM ${t} WHERE stream = $1 AND holder = $2`, [stream, holder])).catch(() => undefined);
      await live.close();
    },
  };
}
