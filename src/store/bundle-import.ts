/**
 * Import a portable bundle into this store. Everything is checked first — tar structure, paths, links,
 * header size, every blob's hash, the manifest and the commit record — and only then is anything written:
 * a refused bundle (STORE_IMPORT_*) leaves the store exactly as it was.
 */
import { open, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { createHash } from 'node:crypto';
import { CkptError } from '../errors.js';
import type { CheckpointCommitted } from '../events.js';
import { appendEvent, catalogOf, type StoreContext } from './context.js';
import { nextCheckpointId } from './commit.js';
import { BUNDLE_FORMAT, BUNDLE_HEADER_PATH, type BundleHeader, MAX_BUNDLE_HEADER_BYTES, bundleBlobPath } from './bundle-format.js';
import { isBlobHash } from './hash.js';
import { decodeManifest, manifestBlobs } from './manifest.js';
import { readTarIndex, type TarEntry } from './tar.js';

export interface ImportResult {
  checkpoint: string;
  originalId: string;
  blobs: number;
  bytes: number;
  /** True when an identical checkpoint (same manifest) was already kept here: nothing was written. */
  alreadyPresent: boolean;
}

const refuse = (code: string, message: string, details: Record<string, unknown> = {}) => new CkptError(code, message, { details });

async function readRange(handle: import('node:fs/promises').FileHandle, entry: TarEntry): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(entry.size);
  let done = 0;
  while (done < entry.size) {
    const { bytesRead } = await handle.read(buffer, done, entry.size - done, entry.offset + done);
    if (bytesRead === 0) throw refuse('STORE_IMPORT_MALFORMED', `bundle ended inside '${entry.path}'`);
    done += bytesRead;
  }
  return buffer;
}

async function hashRange(handle: import('node:fs/promises').FileHandle, entry: TarEntry): Promise<string> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(4 << 20, Math.max(1, entry.size)));
  let done = 0;
  while (done < entry.size) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.byteLength, entry.size - done), entry.offset + done);
    if (bytesRead === 0) throw refuse('STORE_IMPORT_MALFORMED', `bundle ended inside '${entry.path}'`);
    hash.update(chunk.subarray(0, bytesRead));
    done += bytesRead;
  }
  return hash.digest('hex');
}

function parseHeader(bytes: Buffer): BundleHeader {
  let header: BundleHeader;
  try {
    header = JSON.parse(bytes.toString('utf8')) as BundleHeader;
  } catch (cause) {
    throw new CkptError('STORE_IMPORT_MALFORMED', `${BUNDLE_HEADER_PATH} is not valid JSON; the bundle is damaged`, { cause });
  }
  if (!header || header.format !== BUNDLE_FORMAT || !isBlobHash(header.manifest) || !header.commit || !Array.isArray(header.blobs) || typeof header.checkpoint !== 'string') {
    throw refuse('STORE_IMPORT_MALFORMED', `${BUNDLE_HEADER_PATH} is not a ckpt bundle header`);
  }
  importedFacts(header.commit); // refuse a malformed commit record before anything is written
  return header;
}

type ImportedFacts = Partial<Pick<CheckpointCommitted, 'run'>> & Pick<CheckpointCommitted, 'epoch' | 'step' | 'metrics' | 'tags' | 'labels' | 'description' | 'trainer' | 'backend'>;

/**
 * The facts an import keeps from the bundle's commit record, each checked for its type. Source-ledger seqs
 * (decisionSeq) are dropped: they mean nothing in this ledger.
 */
function importedFacts(commit: unknown): ImportedFacts {
  const c = (commit ?? {}) as Record<string, unknown>;
  const bad = (field: string) => refuse('STORE_IMPORT_MALFORMED', `the bundle's commit record has a malformed \`${field}\`; the bundle is damaged or forged`);
  const count = (field: string) => {
    const value = c[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw bad(field);
    return value;
  };
  const strings = (field: string) => {
    const value = c[field] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(field);
    return value as string[];
  };
  const text = (field: string, fallback?: string) => {
    const value = c[field] ?? fallback;
    if (value !== undefined && typeof value !== 'string') throw bad(field);
    return value as string | undefined;
  };
  const metrics = c.metrics ?? {};
  if (typeof metrics !== 'object' || Array.isArray(metrics) || !Object.values(metrics).every((v) => typeof v === 'number')) throw bad('metrics');
  const description = text('description');
  return {
    run: text('run'), epoch: count('epoch'), step: count('step'), metrics: { ...(metrics as Record<string, number>) },
    tags: strings('tags'), labels: strings('labels'), ...(description === undefined ? {} : { description }),
    trainer: text('trainer', 'unknown')!, backend: text('backend', 'unknown')!,
  };
}

/**
 * The tags and description the checkpoint gained after its commit (CheckpointTagged events in the bundle), so an
 * import keeps them; malformed tag events are ignored (the commit record was checked, these are annotations).
 * @example withLaterTags({ ...facts, tags: [] }, [{ type: 'CheckpointTagged', data: { tags: ['shipped'] } }]).tags // ['shipped']
 */
function withLaterTags(facts: ImportedFacts, events: unknown): ImportedFacts {
  const tags = [...(facts.tags ?? [])];
  let description = facts.description;
  for (const e of Array.isArray(events) ? events : []) {
    const data = (e as { type?: unknown; data?: { tags?: unknown; description?: unknown } })?.type === 'CheckpointTagged' ? (e as { data?: { tags?: unknown; description?: unknown } }).data : undefined;
    if (!data) continue;
    if (Array.isArray(data.tags)) for (const t of data.tags) if (typeof t === 'string' && !tags.includes(t)) tags.push(t);
    if (typeof data.description === 'string') description = data.description;
  }
  return { ...facts, tags, ...(description === undefined ? {} : { description }) };
}

/**
 * Verify and import a bundle; returns the new local id.
 * @example const { checkpoint } = await importBundle(ctx, './ckpt-3.ckpt')
 */
export async function importBundle(ctx: StoreContext, path: string): Promise<ImportResult> {
  const source = resolvePath(path);
  const info = await stat(source).catch((cause) => { throw new CkptError('STORE_IMPORT_NOT_FOUND', `no bundle at ${source}`, { cause }); });
  if (!info.isFile()) throw refuse('STORE_IMPORT_MALFORMED', `${source} is not a bundle file`);
  const handle = await open(source, 'r');
  try {
    const entries = await readTarIndex(handle, info.size);
    if (entries.length === 0 || entries[0].path !== BUNDLE_HEADER_PATH) throw refuse('STORE_IMPORT_MALFORMED', `bundle does not start with ${BUNDLE_HEADER_PATH}`);
    if (entries[0].size > MAX_BUNDLE_HEADER_BYTES) {
      throw refuse('STORE_IMPORT_HEADER_TOO_LARGE', `bundle header is ${entries[0].size} bytes (limit ${MAX_BUNDLE_HEADER_BYTES}); refusing to import`, { size: entries[0].size });
    }
    const header = parseHeader(await readRange(handle, entries[0]));

    // Every blob entry: a known path, unique, and its bytes hash to its name.
    const blobs = new Map<string, TarEntry>();
    for (const entry of entries.slice(1)) {
      const match = /^objects\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(entry.path);
      if (!match) throw refuse('STORE_IMPORT_PATH', `unexpected bundle entry '${entry.path}'; bundles hold ${BUNDLE_HEADER_PATH} and objects/ only`, { path: entry.path });
      const hash = match[1] + match[2];
      if (blobs.has(hash)) throw refuse('STORE_IMPORT_MALFORMED', `bundle holds blob ${hash} twice`);
      const actual = await hashRange(handle, entry);
      if (actual !== hash) throw refuse('STORE_IMPORT_HASH', `bundle blob ${bundleBlobPath(hash)} has sha256 ${actual}; the bundle is damaged or forged`, { blob: hash, actual });
      blobs.set(hash, entry);
    }
    const manifestEntry = blobs.get(header.manifest);
    if (!manifestEntry) throw refuse('STORE_IMPORT_MALFORMED', `bundle lacks its manifest blob ${header.manifest}`);
    const m = await decodeManifestOrRefuse(manifestEntry, handle);
    const needed = [header.manifest, ...manifestBlobs(m)];
    for (const hash of needed) if (!blobs.has(hash)) throw refuse('STORE_IMPORT_MALFORMED', `bundle lacks blob ${hash} that its manifest references`, { blob: hash });

    const existing = Object.values(catalogOf(ctx).checkpoints).find((e) => e.manifest === header.manifest && e.status === 'kept');
    if (existing) return { checkpoint: existing.id, originalId: header.checkpoint, blobs: needed.length, bytes: existing.bytes.logical, alreadyPresent: true };

    // All checks passed: write.
    return await ctx.mutex.run(async () => {
      let fresh = 0;
      let logical = 0;
      for (const hash of needed) {
        const bytes = await readRange(handle, blobs.get(hash)!);
        const result = await ctx.blobs.put(bytes);
        logical += result.size;
        if (result.written) fresh += result.size;
      }
      const checkpoint = nextCheckpointId(ctx);
      const facts = withLaterTags(importedFacts(header.commit), header.events);
      const run = `imported:${facts.run ?? m.run}`;
      const commit: CheckpointCommitted = {
        ...facts,
        checkpoint,
        run,
        manifest: header.manifest,
        weightsDigest: m.weightsDigest,
        bytes: { logical, new: fresh },
        blobs: needed,
        objects: Object.keys(m.objects),
      };
      await appendEvent(ctx, run, 'CheckpointCommitted', commit);
      await appendEvent(ctx, run, 'CheckpointImported', { checkpoint, originalId: header.checkpoint, from: source, events: header.events });
      return { checkpoint, originalId: header.checkpoint, blobs: needed.length, bytes: logical, alreadyPresent: false };
    });
  } finally {
    await handle.close();
  }
}

async function decodeManifestOrRefuse(entry: TarEntry, handle: import('node:fs/promises').FileHandle) {
  try {
    return decodeManifest(await readRange(handle, entry), 'bundle manifest');
  } catch (cause) {
    throw new CkptError('STORE_IMPORT_MALFORMED', `bundle manifest is not a valid ckpt manifest`, { cause });
  }
}
