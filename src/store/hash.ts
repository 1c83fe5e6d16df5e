/**
 * SHA-256 helpers. Every blob is named by the sha256 of its stored bytes; a manifest names tensors by blob hash.
 */
import { createHash } from 'node:crypto';

/**
 * Hex sha256 of some bytes.
 * @example sha256Hex(new Uint8Array([1, 2, 3])) // '039058c6…'
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True for a 64-character lowercase hex string (a blob name). */
export function isBlobHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** Short form for messages: the first 12 hex digits. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}
