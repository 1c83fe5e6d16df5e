/**
 * weightsDigest: one sha256 naming the model weights, so "same weights" is a string comparison. It is the sha256
 * of the concatenated 32-byte sha256 digests of every weight tensor's raw bytes (objects in name order, tensors
 * in their manifest (getWeights) order) — a one-level hash list. Only the raw tensor bytes count, so the digest
 * does not depend on compression, optimizer state, metadata or time. Why a hash list and not one sha256 over all
 * bytes: a tensor's sha256 is its blob's name when stored raw, so a commit gets the digest from the hashes it
 * computes anyway instead of hashing every weight byte a second time (docs/format.md).
 */
import { createHash } from 'node:crypto';
import type { CheckpointState } from '../checkpoint.js';

/**
 * The weights digest from the hex sha256 of each weight tensor, in order.
 * @example weightsDigestOfTensorHashes([sha256Hex(w0), sha256Hex(w1)]) === weightsDigest(state)
 */
export function weightsDigestOfTensorHashes(tensorHashes: readonly string[]): string {
  const hash = createHash('sha256');
  for (const hex of tensorHashes) hash.update(Buffer.from(hex, 'hex'));
  return hash.digest('hex');
}

/** The hex sha256 of each weight tensor of every object, objects in name order: what the digest is made of. */
export function weightTensors(state: Pick<CheckpointState, 'objects'>): Uint8Array[] {
  return Object.keys(state.objects).sort().flatMap((name) => state.objects[name].weights.map((tensor) => tensor.data));
}

/**
 * The weights digest of a state (synchronous; the store computes the same value from its blob hashes).
 * @example if (weightsDigest(resumed) !== weightsDigest(uninterrupted)) throw new Error('not bit-exact')
 */
export function weightsDigest(state: Pick<CheckpointState, 'objects'>): string {
  return weightsDigestOfTensorHashes(weightTensors(state).map((data) => createHash('sha256').update(data).digest('hex')));
}
