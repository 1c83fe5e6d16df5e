/**
 * The portable bundle: a ustar file holding `ckpt-bundle.json` (first) and `objects/ab/cdef…` for every blob
 * the checkpoint references, manifest included. See docs/format.md.
 */
import type { CheckpointCommitted } from '../events.js';

export const BUNDLE_FORMAT = 'ckpt.bundle';
export const BUNDLE_VERSION = 1;
export const BUNDLE_HEADER_PATH = 'ckpt-bundle.json';
/** A bundle header larger than this is refused (STORE_IMPORT_HEADER_TOO_LARGE). */
export const MAX_BUNDLE_HEADER_BYTES = 16 * 1024 * 1024;

export interface BundleEvent { stream: string; type: string; v: number; at: number; data: unknown }

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: number;
  checkpoint: string;
  manifest: string;
  commit: CheckpointCommitted;
  /** The checkpoint's ledger events in the source ledger (its commit, decision, tags, verifications, ...). */
  events: BundleEvent[];
  blobs: { hash: string; size: number }[];
  createdAt: number;
}

/** Tar path of a blob inside a bundle. @example bundleBlobPath('ab12…') // 'objects/ab/12…' */
export function bundleBlobPath(hash: string): string {
  return `objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
}
