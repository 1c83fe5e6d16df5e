/**
 * What the store holds beyond the ledger: the blob names in `objects/` (a directory listing, no reads) and the
 * complete manifests among the blobs the ledger does not reference. Used by the open-time drift check (cheap:
 * only unreferenced blobs are opened, and only their first bytes unless they are manifests) and by `ckpt repair`.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogState } from '../projections/catalog.js';
import { BlobFault, type BlobStore } from '../store/blobs.js';
import { isBlobHash } from '../store/hash.js';
import { decodeManifest, manifestBlobs, MANIFEST_FORMAT, type Manifest } from '../store/manifest.js';

/** Every manifest starts with these bytes: encodeManifest writes `format` first. */
const MANIFEST_HEAD = Buffer.from(`{"format":"${MANIFEST_FORMAT}"`);

/**
 * Names of the blobs under `objectsDir` (no stat, no read): `objects/ab/cdef…` → `abcdef…`.
 * @example const present = await listBlobNames('./checkpoints/objects')
 */
export async function listBlobNames(objectsDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  let prefixes: string[];
  try {
    prefixes = await readdir(objectsDir);
  } catch {
    return names;
  }
  for (const prefix of prefixes) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    const entries = await readdir(join(objectsDir, prefix)).catch(() => [] as string[]);
    for (const name of entries) if (isBlobHash(prefix + name)) names.add(prefix + name);
  }
  return names;
}

/** Every blob any checkpoint of the catalog references (pruned ones too: their shared blobs stay). */
export function knownBlobs(catalog: CatalogState): Set<string> {
  const known = new Set<string>();
  for (const entry of Object.values(catalog.checkpoints)) {
    known.add(entry.manifest);
    for (const blob of entry.blobs) known.add(blob);
  }
  return known;
}

/** A manifest found in the store, with every blob it needs (itself included) and whether all are present. */
export interface FoundManifest {
  hash: string;
  manifest: Manifest;
  blobs: string[];
  complete: boolean;
}

/** Unreferenced blobs that are manifests, plus the ones that looked like manifests but do not decode or verify. */
export interface ManifestScan {
  found: FoundManifest[];
  unreadable: { manifest: string; reason: string }[];
}

/**
 * The manifests among `present` blobs that the ledger does not know (`known`): a blob is opened only when it is
 * unreferenced, and read whole only when its first bytes are a manifest's. Sorted by creation time.
 * @example const { found } = await findUnknownManifests(store.blobs, present, knownBlobs(catalog))
 */
export async function findUnknownManifests(blobs: BlobStore, present: Set<string>, known: Set<string>): Promise<ManifestScan> {
  const found: FoundManifest[] = [];
  const unreadable: { manifest: string; reason: string }[] = [];
  for (const hash of present) {
    if (known.has(hash) || !(await startsLikeManifest(blobs.path(hash)))) continue;
    let manifest: Manifest;
    try {
      manifest = decodeManifest(await blobs.read(hash), hash.slice(0, 12));
    } catch (error) {
      unreadable.push({ manifest: hash, reason: error instanceof BlobFault ? `${error.kind}: ${error.message}` : (error as Error).message });
      continue;
    }
    const needed = [hash, ...manifestBlobs(manifest)];
    found.push({ hash, manifest, blobs: needed, complete: needed.every((blob) => present.has(blob)) });
  }
  found.sort((a, b) => a.manifest.createdAt - b.manifest.createdAt || a.manifest.run.localeCompare(b.manifest.run) || a.manifest.step - b.manifest.step);
  return { found, unreadable };
}

async function startsLikeManifest(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(MANIFEST_HEAD.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(MANIFEST_HEAD);
  } finally {
    await handle.close();
  }
}
