/**
 * Export one checkpoint as a portable bundle (tar): header JSON with its ledger events, then every blob.
 * Written to a temp file, fsynced, renamed into place.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CatalogEntry } from '../projections/catalog.js';
import type { CheckpointCommitted } from '../events.js';
import { CkptError } from '../errors.js';
import type { StoreContext } from './context.js';
import { fsyncDir } from './fsync.js';
import { BUNDLE_FORMAT, BUNDLE_HEADER_PATH, BUNDLE_VERSION, type BundleEvent, type BundleHeader, bundleBlobPath } from './bundle-format.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

async function eventsOf(ctx: StoreContext, entry: CatalogEntry): Promise<{ commit: CheckpointCommitted; events: BundleEvent[] }> {
  const events: BundleEvent[] = [];
  let commit: CheckpointCommitted | undefined;
  for await (const e of ctx.ledger.read({ stream: entry.run })) {
    const data = e.data as { checkpoint?: string } | null;
    const mine = (data && typeof data === 'object' && data.checkpoint === entry.id) || e.seq === entry.decisionSeq;
    if (!mine) continue;
    if (e.type === 'CheckpointCommitted') commit = e.data as CheckpointCommitted;
    events.push({ stream: e.stream, type: e.type, v: e.v, at: e.at, data: e.data });
  }
  if (!commit) throw new CkptError('STORE_CORRUPT', `the commit event of ${entry.id} is not in stream ${entry.run}; run \`ckpt rebuild\` and \`ckpt verify ${entry.id}\``, { details: { checkpoint: entry.id } });
  return { commit, events };
}

/**
 * Write `<out>` as a bundle of checkpoint `entry` (blobs read with verification by `readBlob`).
 * @example await writeBundle(ctx, entry, '/tmp/ckpt-3.ckpt', (h) => ctx.blobs.read(h))
 */
export async function writeBundle(ctx: StoreContext, entry: CatalogEntry, out: string, readBlob: (hash: string) => Promise<Uint8Array>): Promise<{ bytes: number }> {
  const { commit, events } = await eventsOf(ctx, entry);
  const sizes: { hash: string; size: number }[] = [];
  for (const hash of entry.blobs) sizes.push({ hash, size: (await ctx.blobs.size(hash)) ?? 0 });
  const header: BundleHeader = {
    format: BUNDLE_FORMAT, version: BUNDLE_VERSION, checkpoint: entry.id, manifest: entry.manifest, commit, events, blobs: sizes, createdAt: Date.now(),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx');
  let written = 0;
  const write = async (bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.byteLength) offset += (await handle.write(bytes, offset, bytes.byteLength - offset)).bytesWritten;
    written += bytes.byteLength;
  };
  try {
    await write(tarHeader(BUNDLE_HEADER_PATH, headerBytes.byteLength, header.createdAt));
    await write(headerBytes);
    await write(tarPadding(headerBytes.byteLength));
    for (const { hash } of sizes) {
      const bytes = await readBlob(hash);
      await write(tarHeader(bundleBlobPath(hash), bytes.byteLength, header.createdAt));
      await write(bytes);
      await write(tarPadding(bytes.byteLength));
    }
    await write(TAR_END);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await rename(tmp, out);
  await fsyncDir(dirname(out));
  return { bytes: written };
}
