/**
 * weightsDigest: one sha256 over the model weights, so "same weights" is a string comparison. Objects are
 * taken in name order, tensors in their manifest (getWeights) order; only the raw tensor bytes count, so the
 * digest does not depend on compression, optimizer state, metadata or time.
 */
import { createHash } from 'node:crypto';
import type { CheckpointState } from '../checkpoint.js';

/**
 * sha256 (hex) over the raw bytes of every weight tensor of every object.
 * @example if (weightsDigest(resumed) !== weightsDigest(uninterrupted)) throw new Error('not bit-exact')
 */
export function weightsDigest(state: Pick<CheckpointState, 'objects'>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(state.objects).sort()) {
    for (const tensor of state.objects[name].weights) hash.update(tensor.data);
  }
  return hash.digest('hex');
}
