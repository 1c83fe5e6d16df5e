/**
 * Reading a checkpoint's content back: the manifest, then every blob it names, each verified against its
 * hash by the `readBlob` function given (the store's, which may fall back to backups).
 */
import type { CheckpointState, ObjectState, WireState, WireTensor } from '../checkpoint.js';
import { mapLimit } from './blobs.js';
import { decodeBlob } from './compression.js';
import { decodeJson, decodeManifest, type Manifest, type TensorEntry } from './manifest.js';

/** Reads one blob and verifies it; throws BlobFault when it cannot. */
export type BlobReader = (hash: string) => Promise<Uint8Array>;

/** Verifies one blob without keeping its bytes and returns its size; throws BlobFault when it cannot. */
export type BlobChecker = (hash: string) => Promise<number>;

/**
 * Rebuild the CheckpointState a manifest describes, verifying every blob.
 * @example const state = await readCheckpointState(manifest, (h) => blobs.read(h))
 */
export async function readCheckpointState(manifest: Manifest, readBlob: BlobReader, concurrency = 4): Promise<CheckpointState> {
  return readState(manifest, readBlob, concurrency) as Promise<CheckpointState>;
}

/**
 * The same state with every raw-stored tensor as a staged file (`fileOf(hash)`: its blob's path), each blob verified
 * first by `checkBlob` (hashed as it streams by, never held in memory); compressed tensors are read into memory.
 * @example const wire = await readCheckpointFiles(manifest, (h) => blobs.read(h), (h) => blobs.check(h), (h) => blobs.path(h))
 */
export function readCheckpointFiles(manifest: Manifest, readBlob: BlobReader, checkBlob: BlobChecker, fileOf: (hash: string) => string, concurrency = 4): Promise<WireState> {
  return readState(manifest, readBlob, concurrency, { checkBlob, fileOf });
}

async function readState(manifest: Manifest, readBlob: BlobReader, concurrency: number, files?: { checkBlob: BlobChecker; fileOf: (hash: string) => string }): Promise<WireState> {
  const jobs: { entry: TensorEntry; put: (t: WireTensor) => void }[] = [];
  const objects: Record<string, ObjectState<WireTensor>> = {};
  const topologyJobs: Promise<void>[] = [];
  for (const name of Object.keys(manifest.objects)) {
    const entry = manifest.objects[name];
    const object: ObjectState<WireTensor> = { weights: new Array(entry.weights.length) };
    entry.weights.forEach((t, i) => jobs.push({ entry: t, put: (v) => (object.weights[i] = v) }));
    if (entry.optimizer) {
      const slots: WireTensor[] = new Array(entry.optimizer.slots.length);
      object.optimizer = { className: entry.optimizer.className, config: entry.optimizer.config, hidden: entry.optimizer.hidden, slots };
      entry.optimizer.slots.forEach((t, i) => jobs.push({ entry: t, put: (v) => (slots[i] = v) }));
    }
    const topology = entry.topology;
    if (topology) {
      topologyJobs.push(
        readBlob(topology.blob).then(async (stored) => {
          const raw = await decodeBlob(stored, topology.encoding);
          object.topology = topology.kind === 'json' ? decodeJson(raw) : raw;
        }),
      );
    }
    objects[name] = object;
  }
  await Promise.all(topologyJobs);
  await mapLimit(jobs, concurrency, async ({ entry, put }) => {
    if (files && entry.encoding === 'raw') {
      const bytes = await files.checkBlob(entry.blob);
      put({ name: entry.name, dtype: entry.dtype, shape: [...entry.shape], file: files.fileOf(entry.blob), bytes, sha256: entry.blob });
      return;
    }
    const stored = await readBlob(entry.blob);
    const raw = await decodeBlob(stored, entry.encoding);
    // Each tensor gets its own ArrayBuffer at offset 0, so `new Float32Array(t.data.buffer)` is always right.
    const data = raw.byteOffset === 0 && raw.buffer.byteLength === raw.byteLength ? new Uint8Array(raw.buffer) : new Uint8Array(raw);
    put({ name: entry.name, dtype: entry.dtype, shape: [...entry.shape], data });
  });
  return { objects, trainer: manifest.trainerState, history: manifest.history };
}

/** Read and parse a manifest blob. @example const manifest = await readManifest(hash, read, 'ckpt-4') */
export async function readManifest(hash: string, readBlob: BlobReader, where: string): Promise<Manifest> {
  return decodeManifest(await readBlob(hash), where);
}
