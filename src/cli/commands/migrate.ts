import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { copyLedgerToPg } from '../../../ledger/index.js';
import { CkptError } from '../../errors.js';
import { BlobStore } from '../../store/blobs.js';
import { remoteStoreUrl, sharedLedger } from '../../store/locations.js';
import { S3BlobStore } from '../../store/s3-blobs.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';

/**
 * `ckpt migrate --to postgres://… [--store s3://…]`: copy a local ckpt directory to the shared ledger (and its
 * blobs to S3). Blobs go first, streamed and hash-checked, so every checkpoint the copied ledger names is already
 * in the bucket. Idempotent and resumable: present blobs are skipped, present events verified, the rest copied.
 */
export function registerMigrate(program: Command): void {
  defineCommand<CommonOptions & { to?: string }>(
    program,
    {
      name: 'migrate',
      description: 'copy a local ledger (and its blobs) to PostgreSQL (and S3); safe to repeat',
      examples: ['ckpt migrate --to postgres://ckpt@db/ckpt --store s3://team-ckpt/checkpoints', 'ckpt migrate --dir ./old --to "postgres://ckpt@db/ckpt?schema=archive"'],
    },
    (cmd) => cmd.option('--to <url>', 'target PostgreSQL ledger, postgres://user@host/db[?schema=name]'),
    async (_args, opts, out) => {
      if (opts.to === undefined) throw new CkptError('CLI_USAGE', 'name the target ledger: --to postgres://user@host/db');
      const target = sharedLedger({ CKPT_LEDGER_URL: opts.to });
      if (target === undefined) throw new CkptError('CLI_USAGE', 'name the target ledger: --to postgres://user@host/db');
      const dir = resolve(opts.dir);
      let blobs = { copied: 0, present: 0, bytes: 0 };
      const storeUrl = remoteStoreUrl();
      if (storeUrl !== undefined) blobs = await copyBlobs(new BlobStore(dir), new S3BlobStore(storeUrl));
      const ledger = await copyLedgerToPg(join(dir, 'ledger'), target.url, { schema: target.schema });
      const result = { ledger, blobs, to: `${target.url.replace(/\/\/[^@/]*@/, '//')}#${target.schema}`, store: storeUrl ?? null };
      if (out.json) return out.document(result);
      if (storeUrl !== undefined) out.line(`blobs: ${blobs.copied} copied (${formatBytes(blobs.bytes)}), ${blobs.present} already in ${storeUrl}`);
      out.line(`ledger: ${ledger.copied} events copied, ${ledger.verified} already there and verified (${ledger.events} in all)`);
    },
  );
}

/** Streams every local blob to S3 unless present there; each upload is hashed on the way and refused if wrong. */
async function copyBlobs(from: BlobStore, to: S3BlobStore): Promise<{ copied: number; present: number; bytes: number }> {
  await to.init();
  let copied = 0;
  let present = 0;
  let bytes = 0;
  for (const { hash, size } of await from.list()) {
    const put = await to.putStream(hash, createReadStream(from.path(hash)), size);
    if (put.written) {
      copied++;
      bytes += size;
    } else {
      present++;
    }
  }
  return { copied, present, bytes };
}
