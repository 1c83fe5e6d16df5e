/**
 * An export the browser downloads: the store's own `exportCheckpoint` (which verifies every blob and records
 * `CheckpointExported`) writes into a temporary folder named `ckpt-download-…`, whose bytes are sent back — a
 * tfjs model directory as one zip (model.json and its weight shards at the zip's root).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { CkptError } from '../errors.js';
import type { CheckpointStore, ExportOptions, ExportResult } from '../store/index.js';

export const DOWNLOAD_FORMATS = ['tfjs', 'safetensors', 'bundle'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export interface Download {
  filename: string;
  contentType: string;
  body: Uint8Array;
  result: ExportResult;
}

/**
 * Export checkpoint `id` in `format` and return the file to send.
 * @example const { filename, body } = await exportForDownload(store, 'ckpt-3', 'tfjs') // 'ckpt-3-tfjs.zip'
 */
export async function exportForDownload(store: CheckpointStore, id: string, format: string, includeOptimizer = false): Promise<Download> {
  if (!(DOWNLOAD_FORMATS as readonly string[]).includes(format)) {
    throw new CkptError('SERVER_BAD_REQUEST', `"format" must be one of ${DOWNLOAD_FORMATS.join(', ')}`, { details: { format } });
  }
  const tmp = await mkdtemp(join(tmpdir(), 'ckpt-download-'));
  try {
    const name = format === 'tfjs' ? `${id}-tfjs` : `${id}.${format === 'bundle' ? 'ckpt' : 'safetensors'}`;
    const options: ExportOptions = { format: format as DownloadFormat, out: join(tmp, name), includeOptimizer };
    const result = await store.exportCheckpoint(id, options);
    if (format !== 'tfjs') {
      return { filename: name, contentType: 'application/octet-stream', body: await readFile(result.path), result };
    }
    const files: Record<string, Uint8Array> = {};
    for (const file of (await readdir(result.path)).sort()) files[file] = await readFile(join(result.path, file));
    // Weight shards are float noise; storing them (level 0) is as small as deflating and far faster.
    return { filename: `${name}.zip`, contentType: 'application/zip', body: zipSync(files, { level: 0 }), result };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
