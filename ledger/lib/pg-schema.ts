/**
 * The PostgreSQL ledger's tables and its one append function, created idempotently on open. Every ledger lives
 * in its own schema (default `ckpt`), so one database can hold several ledgers (tests use one per ledger).
 *
 * Gapless seqs in commit order: `<schema>.append()` takes a transaction-scoped advisory lock (keyed by the
 * schema) before it reads max(seq), so appenders of one ledger run their check-and-insert one at a time, and the
 * lock is released only after the commit is visible. The caller proposes seqs `base+1 …` computed from the
 * lastSeq it knows; when the stored lastSeq is not `base` nothing is written and the stored lastSeq is returned
 * (the caller then catches up and plans again). A sequence object is not used: sequences leave gaps on rollback.
 */
import type pg from 'pg';

/** A schema name we accept: it is interpolated into DDL, so only plain lower-case identifiers. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,40}$/;

/** Channel that `append()` notifies with the new lastSeq on commit. */
export function notifyChannel(schema: string): string {
  return `ckpt_ledger_${schema}`;
}

/** DDL for one ledger; safe to run again (and concurrently: the caller holds an advisory lock around it). */
export function schemaSql(schema: string): string {
  const s = `"${schema}"`;
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.events (
  seq bigint PRIMARY KEY,
  id text NOT NULL UNIQUE,
  bytes bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.snapshots (name text PRIMARY KEY, bytes bytea NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE OR REPLACE FUNCTION ${s}.append(
  base bigint, seqs bigint[], ids text[], blob bytea, offs int[], lens int[], snap_names text[], snap_bytes bytea[], durable boolean
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  stored bigint;
BEGIN
  IF NOT durable THEN
    -- Visible at once, flushed by the WAL writer shortly after or by the next durable commit (WAL is sequential).
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  IF array_length(seqs, 1) IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(${lockKey(schema)});
    SELECT coalesce(max(seq), 0) INTO stored FROM ${s}.events;
    IF stored <> base THEN
      RETURN stored;
    END IF;
    INSERT INTO ${s}.events (seq, id, bytes)
      SELECT t.seq, t.id, substring(blob FROM t.off + 1 FOR t.len) FROM unnest(seqs, ids, offs, lens) AS t(seq, id, off, len);
    PERFORM pg_notify('${notifyChannel(schema)}', seqs[array_length(seqs, 1)]::text);
  END IF;
  IF array_length(snap_names, 1) IS NOT NULL THEN
    INSERT INTO ${s}.snapshots (name, bytes) SELECT * FROM unnest(snap_names, snap_bytes)
      ON CONFLICT (name) DO UPDATE SET bytes = excluded.bytes;
  END IF;
  RETURN base;
END
$fn$;`;
}

/** The advisory-lock key pair of a ledger: a fixed class id and the schema's hash. */
export function lockKey(schema: string): string {
  return `1667986548, hashtext('${schema}')`;
}

/** Creates the schema, tables and function unless present; serialised across processes. */
export async function ensureSchema(client: pg.Client, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(1667986549, hashtext($1))`, [schema]);
    const present = await client.query(
      `SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = 'append'`,
      [schema],
    );
    if (present.rowCount === 0) await client.query(schemaSql(schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
