/**
 * Optional per-store blob compression (zlib gzip or brotli, both built into Node). Off by default; the
 * encoding is recorded per tensor in the manifest, so a store may mix encodings over time.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';
import { CkptError } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'brotli';
/** How a blob's stored bytes relate to the tensor bytes. */
export type BlobEncoding = 'raw' | 'gzip' | 'br';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** Manifest encoding for a store compression setting. @example encodingFor('gzip') // 'gzip' */
export function encodingFor(compression: Compression): BlobEncoding {
  if (compression === 'none') return 'raw';
  if (compression === 'gzip') return 'gzip';
  if (compression === 'brotli') return 'br';
  throw new CkptError('STORE_INVALID', `unknown compression '${String(compression)}'; use none, gzip or brotli`);
}

/**
 * Encode raw bytes for storage (deterministic: the same input gives the same stored bytes, so dedupe holds).
 * @example const stored = await encodeBlob(bytes, 'gzip')
 */
export async function encodeBlob(bytes: Uint8Array, encoding: BlobEncoding): Promise<Uint8Array> {
  if (encoding === 'raw') return bytes;
  if (encoding === 'gzip') return gzipAsync(bytes, { level: 6 });
  return brotliAsync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength } });
}

/** Decode stored bytes back to raw bytes. @example const raw = await decodeBlob(stored, 'br') */
export async function decodeBlob(stored: Uint8Array, encoding: BlobEncoding): Promise<Uint8Array> {
  if (encoding === 'raw') return stored;
  if (encoding === 'gzip') return gunzipAsync(stored);
  if (encoding === 'br') return unbrotliAsync(stored);
  throw new CkptError('STORE_CORRUPT', `unknown blob encoding '${String(encoding)}' in manifest; the checkpoint was written by a newer ckpt`);
}
