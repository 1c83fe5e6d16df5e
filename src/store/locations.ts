/**
 * Where a workspace's ledger and blobs live. Default: both inside the ckpt directory (LevelDB at `<dir>/ledger`,
 * files at `<dir>/objects`). A team setup points them elsewhere: `CKPT_LEDGER_URL=postgres://…` (or
 * `--ledger`) for a shared PostgreSQL ledger, `CKPT_STORE_URL=s3://bucket/prefix` (or `--store`) for blobs in
 * object storage. The one place that reads these settings.
 */
import { join } from 'node:path';
import { acquireLease, openLedger, openPgLedger, type Lease, type LedgerError } from '../../ledger/index.js';
import type { Ledger, LedgerOptions } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import type { BlobBackend } from './blobs.js';
import { S3BlobStore } from './s3-blobs.js';
import { isS3Url } from './s3-location.js';

/** A PostgreSQL ledger URL split into what `pg` connects to and the ledger's schema (`?schema=`, default ckpt). */
export interface SharedLedger {
  url: string;
  schema: string;
}

/**
 * The shared ledger configured by CKPT_LEDGER_URL, or undefined for the embedded LevelDB ledger.
 * @example sharedLedger({ CKPT_LEDGER_URL: 'postgres://db/ckpt?schema=team' }) // { url: 'postgres://db/ckpt', schema: 'team' }
 */
export function sharedLedger(env: NodeJS.ProcessEnv = process.env): SharedLedger | undefined {
  const raw = env.CKPT_LEDGER_URL;
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch (cause) {
    throw new CkptError('CLI_USAGE', `--ledger ${raw} is not a URL; write postgres://user@host:5432/database`, { cause });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new CkptError('CLI_USAGE', `--ledger ${parsed.protocol}… is not supported; use postgres://user@host:5432/database (or omit it for the local ledger)`);
  }
  const schema = parsed.searchParams.get('schema') ?? 'ckpt';
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}

/** The S3 store URL configured by CKPT_STORE_URL, or undefined for local files. */
export function remoteStoreUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.CKPT_STORE_URL;
  if (raw === undefined || raw === '') return undefined;
  if (!isS3Url(raw)) throw new CkptError('CLI_USAGE', `--store ${raw} is not supported; use s3://bucket/prefix (or omit it for local files)`);
  return raw;
}

/**
 * Opens the workspace's ledger: the shared PostgreSQL one when configured, else LevelDB under `root`.
 * @example const ledger = await openLedgerFor('/data/checkpoints', { projections })
 */
export async function openLedgerFor(root: string, options: LedgerOptions = {}): Promise<Ledger> {
  const shared = sharedLedger();
  return shared ? openPgLedger(shared.url, { ...options, schema: shared.schema }) : openLedger(join(root, 'ledger'), options);
}

/** The configured remote blob backend (S3), or undefined for the local `objects/` directory. */
export function remoteBlobs(): BlobBackend | undefined {
  const url = remoteStoreUrl();
  return url === undefined ? undefined : new S3BlobStore(url);
}

/**
 * Takes the lease of a run in the shared ledger (a no-op for the embedded ledger, whose directory lock already
 * makes this process the only writer). CKPT_LEASE_MS sets the lease's lifetime (default 15 s).
 * @example const lease = await leaseNamedRun('run-3'); try { ... } finally { await lease?.release() }
 */
export async function leaseNamedRun(run: string | undefined, onLost?: (error: LedgerError) => void): Promise<Lease | undefined> {
  const shared = sharedLedger();
  if (!shared) return undefined;
  if (run === undefined) throw new CkptError('CLI_USAGE', 'a shared ledger holds every host\'s runs: name the run to start or resume with --run NAME');
  const ttl = Number(process.env.CKPT_LEASE_MS ?? 15_000);
  return acquireLease(shared.url, run, { schema: shared.schema, ttlMs: ttl, onLost });
}
