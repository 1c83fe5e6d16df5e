/**
 * Export a checkpoint (any reference: id, best, best:<metric>, latest, …) as a tfjs model directory, a
 * .safetensors file or a portable bundle, and record `CheckpointExported`.
 */
import { stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { TensorData } from '../checkpoint.js';
import { CkptError } from '../errors.js';
import { writeBundle } from './bundle-export.js';
import { appendEvent, entryOf, type StoreContext } from './context.js';
import { writeTfjsModel } from './export-tfjs.js';
import { writeFileDurable } from './fsync.js';
import { loadRef, type LoadedCheckpoint } from './load.js';
import { encodeSafetensors, type SafetensorsTensor } from './safetensors.js';

export interface ExportOptions {
  format: 'tfjs' | 'safetensors' | 'bundle';
  /** tfjs: a directory; safetensors / bundle: a file, or an existing directory to put `<id>.<ext>` in. */
  out: string;
  includeOptimizer?: boolean;
  /** Which object to export as tfjs (default `model`, or the only one). */
  object?: string;
  /** Loss identifier for the tfjs trainingConfig when exporting the optimizer. */
  loss?: string;
}

export interface ExportResult {
  checkpoint: string;
  format: ExportOptions['format'];
  path: string;
  files: string[];
  bytes: number;
  warnings: string[];
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

function pickObject(loaded: LoadedCheckpoint, name?: string): string {
  const names = Object.keys(loaded.state.objects);
  const chosen = name ?? (names.includes('model') ? 'model' : names.length === 1 ? names[0] : undefined);
  if (!chosen || !loaded.state.objects[chosen]) {
    throw new CkptError('STORE_EXPORT_UNSUPPORTED', `${loaded.id} holds objects ${names.join(', ')}; pick one to export as tfjs`, { details: { objects: names } });
  }
  return chosen;
}

/** Tensors of a checkpoint with safetensors names (`<object>/` prefix when there are several objects). */
export function safetensorsTensors(loaded: LoadedCheckpoint, includeOptimizer: boolean): SafetensorsTensor[] {
  const names = Object.keys(loaded.state.objects).sort();
  const prefix = (object: string) => (names.length === 1 ? '' : `${object}/`);
  const out: SafetensorsTensor[] = [];
  const add = (name: string, t: TensorData) => out.push({ name, dtype: t.dtype, shape: t.shape, data: t.data });
  for (const object of names) {
    const state = loaded.state.objects[object];
    for (const t of state.weights) add(prefix(object) + t.name, t);
    if (includeOptimizer) for (const t of state.optimizer?.slots ?? []) add(`${prefix(object)}optimizer/${t.name}`, t);
  }
  return out;
}

function safetensorsMetadata(loaded: LoadedCheckpoint, includeOptimizer: boolean): Record<string, string> {
  const m = loaded.manifest;
  const meta: Record<string, string> = {
    'ckpt.checkpoint': loaded.id,
    'ckpt.run': m.run,
    'ckpt.epoch': String(m.epoch),
    'ckpt.step': String(m.step),
    'ckpt.metrics': JSON.stringify(m.metrics),
    'ckpt.weightsDigest': m.weightsDigest,
    'ckpt.trainer': m.trainer,
    'ckpt.backend': m.backend,
    'ckpt.createdAt': new Date(m.createdAt).toISOString(),
  };
  if (includeOptimizer) {
    const hidden = Object.fromEntries(Object.entries(loaded.state.objects).filter(([, o]) => o.optimizer).map(([k, o]) => [k, { className: o.optimizer!.className, config: o.optimizer!.config, hidden: o.optimizer!.hidden }]));
    meta['ckpt.optimizer'] = JSON.stringify(hidden);
  }
  return meta;
}

/**
 * Export one checkpoint. Every blob is verified on the way (a load), so a corrupt checkpoint is never exported.
 * @example await exportCheckpoint(ctx, 'best', { format: 'safetensors', out: './best.safetensors' })
 */
export async function exportCheckpoint(ctx: StoreContext, ref: string, options: ExportOptions): Promise<ExportResult> {
  const loaded = await loadRef(ctx, ref);
  const out = resolvePath(options.out);
  let result: { path: string; files: string[]; bytes: number; warnings: string[] };
  if (options.format === 'tfjs') {
    const object = pickObject(loaded, options.object);
    const written = await writeTfjsModel(out, loaded.state.objects[object], loaded.manifest, loaded.id, options);
    result = { path: out, ...written };
  } else if (options.format === 'safetensors') {
    const path = (await isDirectory(out)) ? join(out, `${loaded.id}.safetensors`) : out;
    const bytes = encodeSafetensors(safetensorsTensors(loaded, options.includeOptimizer === true), safetensorsMetadata(loaded, options.includeOptimizer === true));
    await writeFileDurable(path, bytes);
    result = { path, files: [path], bytes: bytes.byteLength, warnings: [] };
  } else if (options.format === 'bundle') {
    const path = (await isDirectory(out)) ? join(out, `${loaded.id}.ckpt`) : out;
    const { bytes } = await writeBundle(ctx, entryOf(ctx, loaded.id), path, (hash) => ctx.blobs.read(hash));
    result = { path, files: [path], bytes, warnings: [] };
  } else {
    throw new CkptError('STORE_INVALID', `unknown export format '${String(options.format)}'; use tfjs, safetensors or bundle`);
  }
  const entry = entryOf(ctx, loaded.id);
  await appendEvent(ctx, entry.run, 'CheckpointExported', { checkpoint: loaded.id, format: options.format, path: result.path });
  return { checkpoint: loaded.id, format: options.format, ...result };
}
