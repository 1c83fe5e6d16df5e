/**
 * The manifest: one JSON blob per checkpoint that names every other blob it needs (docs/format.md).
 * It is itself content-addressed; the CheckpointCommitted event carries its hash.
 */
import type { DType, HistoryEntry, TrainerState } from '../checkpoint.js';
import type { Metrics } from '../events.js';
import { CkptError } from '../errors.js';
import type { BlobEncoding } from './compression.js';
import { isBlobHash } from './hash.js';

export const MANIFEST_FORMAT = 'ckpt.manifest';
/** 2: weightsDigest is a hash list of tensor sha256s (1: one sha256 over the weight bytes; still read as is). */
export const MANIFEST_VERSION = 2;

/** One tensor: what it is and where its bytes live. `bytes` is the raw size, `stored` the blob size. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  blob: string;
  bytes: number;
  stored: number;
  encoding: BlobEncoding;
}

/** A topology: tfjs model JSON (`json`) or another framework's opaque bytes (`bytes`), stored as a blob. */
export interface TopologyEntry {
  kind: 'json' | 'bytes';
  blob: string;
  bytes: number;
  stored: number;
  encoding: BlobEncoding;
}

export interface OptimizerEntry {
  className: string;
  config: Record<string, unknown>;
  hidden: Record<string, number>;
  slots: TensorEntry[];
}

export interface ObjectEntry {
  topology?: TopologyEntry;
  weights: TensorEntry[];
  optimizer?: OptimizerEntry;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  run: string;
  epoch: number;
  step: number;
  /** Creation time, epoch milliseconds. */
  createdAt: number;
  trainer: string;
  backend: string;
  metrics: Metrics;
  tags: string[];
  description?: string;
  labels: string[];
  decisionSeq?: number;
  /** sha256 over the weights' raw bytes (see weightsDigest). */
  weightsDigest: string;
  objects: Record<string, ObjectEntry>;
  trainerState: TrainerState;
  history: HistoryEntry[];
}

/** Every blob a manifest references (not counting the manifest itself), each once, in a stable order. */
export function manifestBlobs(manifest: Manifest): string[] {
  const seen = new Set<string>();
  for (const name of Object.keys(manifest.objects).sort()) {
    const object = manifest.objects[name];
    if (object.topology) seen.add(object.topology.blob);
    for (const t of object.weights) seen.add(t.blob);
    for (const t of object.optimizer?.slots ?? []) seen.add(t.blob);
  }
  return [...seen];
}

// Binary values (e.g. an RNG state as bytes) survive JSON as {"$bytes": base64}.
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  if (typeof raw === 'bigint') return { $bigint: raw.toString() };
  return value;
}
function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && typeof (value as { $bytes?: unknown }).$bytes === 'string') {
      const buf = Buffer.from((value as { $bytes: string }).$bytes, 'base64');
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    if (keys.length === 1 && typeof (value as { $bigint?: unknown }).$bigint === 'string') return BigInt((value as { $bigint: string }).$bigint);
  }
  return value;
}

/** JSON bytes of a value, with Uint8Array/bigint kept. @example encodeJson({ a: new Uint8Array([1]) }) */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, replacer), 'utf8');
}

/** Inverse of encodeJson. */
export function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), reviver);
}

/** Manifest → bytes. @example const bytes = encodeManifest(manifest) */
export function encodeManifest(manifest: Manifest): Buffer {
  return encodeJson(manifest);
}

function checkTensorEntry(t: unknown, where: string): void {
  const e = t as TensorEntry;
  if (!e || typeof e.name !== 'string' || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !isBlobHash(e.blob) || !Number.isInteger(e.bytes)) {
    throw new CkptError('STORE_CORRUPT', `${where}: malformed tensor entry ${JSON.stringify(t)?.slice(0, 120)}`);
  }
}

/**
 * Parse and check a manifest's structure; throws STORE_CORRUPT naming `where` when it is not one.
 * @example const manifest = decodeManifest(bytes, 'ckpt-3')
 */
export function decodeManifest(bytes: Uint8Array, where: string): Manifest {
  let value: Manifest;
  try {
    value = decodeJson(bytes) as Manifest;
  } catch (cause) {
    throw new CkptError('STORE_CORRUPT', `${where}: manifest is not valid JSON; restore it from a backup or prune the checkpoint`, { cause });
  }
  if (!value || value.format !== MANIFEST_FORMAT || typeof value.objects !== 'object' || value.objects === null) {
    throw new CkptError('STORE_CORRUPT', `${where}: blob is not a ckpt manifest`);
  }
  if (value.version > MANIFEST_VERSION) {
    throw new CkptError('STORE_CORRUPT', `${where}: manifest version ${value.version} is newer than this ckpt understands; upgrade ckpt`);
  }
  for (const [name, object] of Object.entries(value.objects)) {
    if (!object || !Array.isArray(object.weights)) throw new CkptError('STORE_CORRUPT', `${where}: object '${name}' has no weights list`);
    object.weights.forEach((t) => checkTensorEntry(t, `${where}/${name}`));
    object.optimizer?.slots.forEach((t) => checkTensorEntry(t, `${where}/${name}/optimizer`));
    if (object.topology && !isBlobHash(object.topology.blob)) throw new CkptError('STORE_CORRUPT', `${where}: object '${name}' has a malformed topology entry`);
  }
  return value;
}
