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

/** Bytes hashed between yields in weightsDigestInterleaved. */
const DIGEST_SLICE = 1024 * 1024;

/**
 * The same value as `weightsDigest`, computed in 1 MiB slices that yield to the event loop in between, so that
 * it runs in the gaps of concurrent work instead of after it (commit starts it beside hashing the blobs).
 * @example const [digest] = await Promise.all([weightsDigestInterleaved(state), mapLimit(pieces, 4, (p) => round.put(p))])
 */
export async function weightsDigestInterleaved(state: Pick<CheckpointState, 'objects'>): Promise<string> {
  const hash = createHash('sha256');
  for (const name of Object.keys(state.objects).sort()) {
    for (const tensor of state.objects[name].weights) {
      const data = tensor.data;
      for (let at = 0; at < data.byteLength; at += DIGEST_SLICE) {
        hash.update(data.subarray(at, Math.min(data.byteLength, at + DIGEST_SLICE)));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return hash.digest('hex');
}
