/**
 * Writing a checkpoint's content: every tensor and topology becomes a blob (deduplicated by hash), and so does
 * the manifest that names them. When `writeCheckpointContent` resolves, all of it is durable but nothing
 * references it yet: the commit event (store.ts) is what makes it a checkpoint.
 */
import { isStaged, type StagedTensor, type WireState, type WireTensor } from '../checkpoint.js';
import { discardStaged, inMemoryVerified } from './staged.js';
import type { Metrics } from '../events.js';
import { CkptError } from '../errors.js';
import { type BlobBackend, hashBlob, mapLimit } from './blobs.js';
import { type BlobEncoding, encodeBlob } from './compression.js';
import { weightsDigestOfTensorHashes } from './digest.js';
import { assertTensorShape } from './dtypes.js';
import { encodeJson, encodeManifest, MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest, type ObjectEntry, type TensorEntry } from './manifest.js';

/**
 * Blobs of one checkpoint written at once. Eight, not four: libuv's pool has four threads, and with four in flight
 * there were moments when all four sat in fsync and the main thread, which hashes the next pieces, had nothing to
 * hash (bench:store, 400 MB in 100 tensors, two runs each: saveRatio 0.77 and 0.79 with four, 1.03 and 0.95 with
 * eight).
 */
const PIECES_IN_FLIGHT = 8;

/** What the caller knows about a checkpoint besides its tensors. */
export interface CommitMeta {
  run: string;
  epoch: number;
  step: number;
  metrics: Metrics;
  decisionSeq?: number;
  labels?: string[];
  tags?: string[];
  description?: string;
  trainer: string;
  backend: string;
  /** Topology per object name, overriding `state.objects[name].topology` (e.g. sent once at hello). */
  topologies?: Record<string, unknown>;
  /** Creation time in epoch ms; default now. */
  createdAt?: number;
}

export interface WrittenContent {
  manifest: Manifest;
  manifestHash: string;
  /** Every blob referenced, manifest first. */
  blobs: string[];
  bytes: { logical: number; new: number };
}

/**
 * One blob to write: its stored bytes and the raw bytes they encode (the same array when stored raw), or a staged
 * file the store adopts as it is (stored raw).
 */
type Piece = { bytes: Uint8Array; raw: Uint8Array } | { staged: StagedTensor };

function checkState(state: WireState): void {
  if (!state || typeof state !== 'object' || !state.objects || typeof state.objects !== 'object') {
    throw new CkptError('STORE_INVALID', 'checkpoint state has no objects; send {objects: {model: {weights: [...]}}, trainer, history}');
  }
  if (Object.keys(state.objects).length === 0) throw new CkptError('STORE_INVALID', 'checkpoint state has no objects; a model is stored as objects.model');
  for (const [name, object] of Object.entries(state.objects)) {
    if (!object || !Array.isArray(object.weights)) throw new CkptError('STORE_INVALID', `object '${name}' has no weights array`);
    object.weights.forEach((t) => assertTensorShape(t, name));
    object.optimizer?.slots.forEach((t) => assertTensorShape(t, `${name}/optimizer`));
  }
}

/**
 * Durably write the blobs and the manifest of one checkpoint.
 * @example const { manifestHash, blobs } = await writeCheckpointContent(blobStore, state, meta, 'raw')
 */
export async function writeCheckpointContent(store: BlobBackend, state: WireState, meta: CommitMeta, encoding: BlobEncoding = 'raw'): Promise<WrittenContent> {
  try {
    checkState(state);
    return await writeContent(store, state, meta, encoding);
  } finally {
    // Handed over, so deleted whatever happens: adopted files are gone already; whatever is left (a failed save,
    // a compressed store) goes.
    await discardStaged(state);
  }
}

async function writeContent(store: BlobBackend, wire: WireState, meta: CommitMeta, encoding: BlobEncoding): Promise<WrittenContent> {
  // Staged files are adopted as they are only when blobs are stored raw; otherwise they are read and encoded.
  const state = encoding === 'raw' ? wire : await inMemoryVerified(wire);
  const pieces: Piece[] = [];
  const add = async (bytes: Uint8Array): Promise<number> => {
    pieces.push({ bytes: await encodeBlob(bytes, encoding), raw: bytes });
    return pieces.length - 1;
  };
  type Pending = { entry: Omit<TensorEntry, 'blob' | 'stored'>; piece: number };
  const layout: Record<string, { topology?: { kind: 'json' | 'bytes'; piece: number }; weights: Pending[]; slots: Pending[] }> = {};
  const tensor = async (t: WireTensor): Promise<Pending> => {
    if (isStaged(t)) {
      pieces.push({ staged: t });
      return { entry: { name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.bytes, encoding }, piece: pieces.length - 1 };
    }
    return { entry: { name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.data.byteLength, encoding }, piece: await add(t.data) };
  };
  for (const name of Object.keys(state.objects).sort()) {
    const object = state.objects[name];
    const topology = meta.topologies?.[name] ?? object.topology;
    const plan: (typeof layout)[string] = { weights: [], slots: [] };
    if (topology !== undefined && topology !== null) {
      plan.topology = topology instanceof Uint8Array ? { kind: 'bytes', piece: await add(topology) } : { kind: 'json', piece: await add(encodeJson(topology)) };
    }
    for (const t of object.weights) plan.weights.push(await tensor(t));
    for (const t of object.optimizer?.slots ?? []) plan.slots.push(await tensor(t));
    layout[name] = plan;
  }

  // Each piece is hashed and written as soon as it is hashed; the manifest naming them joins
  // the same round, whose directories are then fsynced once. Raw weight blobs are named by the sha256 of the
  // tensor bytes, which is what the weights digest is made of: no weight byte is hashed twice.
  const round = store.round();
  const results = await mapLimit(pieces, PIECES_IN_FLIGHT, (p) => ('staged' in p ? round.adopt(p.staged.file, p.staged) : round.put(p.bytes)));
  const weightPieces = Object.keys(layout).sort().flatMap((name) => layout[name].weights.map((w) => w.piece));
  const tensorHashes = encoding === 'raw'
    ? weightPieces.map((piece) => results[piece].hash)
    : await mapLimit(weightPieces, 4, (piece) => hashBlob(rawOf(pieces[piece])));
  const digest = weightsDigestOfTensorHashes(tensorHashes);
  const blobOf = (p: Pending): TensorEntry => ({ ...p.entry, blob: results[p.piece].hash, stored: results[p.piece].size });
  const objects: Record<string, ObjectEntry> = {};
  for (const [name, plan] of Object.entries(layout)) {
    const source = state.objects[name];
    const entry: ObjectEntry = { weights: plan.weights.map(blobOf) };
    if (plan.topology) {
      const r = results[plan.topology.piece];
      entry.topology = { kind: plan.topology.kind, blob: r.hash, bytes: rawOf(pieces[plan.topology.piece]).byteLength, stored: r.size, encoding };
    }
    if (source.optimizer) {
      entry.optimizer = {
        className: source.optimizer.className,
        config: source.optimizer.config ?? {},
        hidden: source.optimizer.hidden ?? {},
        slots: plan.slots.map(blobOf),
      };
    }
    objects[name] = entry;
  }

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    run: meta.run,
    epoch: meta.epoch,
    step: meta.step,
    createdAt: meta.createdAt ?? Date.now(),
    trainer: meta.trainer,
    backend: meta.backend,
    metrics: { ...meta.metrics },
    tags: [...(meta.tags ?? [])],
    ...(meta.description !== undefined ? { description: meta.description } : {}),
    labels: [...(meta.labels ?? [])],
    ...(meta.decisionSeq !== undefined ? { decisionSeq: meta.decisionSeq } : {}),
    weightsDigest: digest,
    objects,
    trainerState: state.trainer ?? { epoch: meta.epoch, step: meta.step },
    history: state.history ?? [],
  };
  const manifestResult = await round.put(encodeManifest(manifest));
  await round.durable();

  const unique = new Map<string, number>();
  unique.set(manifestResult.hash, manifestResult.size);
  let fresh = manifestResult.written ? manifestResult.size : 0;
  const counted = new Set<string>();
  for (const r of results) {
    unique.set(r.hash, r.size);
    if (r.written && !counted.has(r.hash)) fresh += r.size;
    counted.add(r.hash);
  }
  const logical = [...unique.values()].reduce((a, b) => a + b, 0);
  return { manifest, manifestHash: manifestResult.hash, blobs: [...unique.keys()], bytes: { logical, new: fresh } };
}

/** The raw bytes of an in-memory piece (staged pieces exist only in raw stores, where no caller asks). */
function rawOf(piece: Piece): Uint8Array {
  if ('staged' in piece) throw new Error(`bug: raw bytes of staged tensor '${piece.staged.name}' asked for`);
  return piece.raw;
}

