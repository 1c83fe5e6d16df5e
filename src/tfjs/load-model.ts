/**
 * `loadModel(refOrDir)`: a `tf.LayersModel` from a tfjs export directory (model.json + weight shards, what
 * `ckpt export --format tfjs` writes) or from a checkpoint ref in a ckpt directory, through a file-system IO
 * handler — plain `@tensorflow/tfjs` has none (`tf.loadLayersModel('file://…')` needs tfjs-node), so this one
 * reads the files with node:fs and hands tfjs the artifacts, the documented custom-IOHandler route
 * (https://js.tensorflow.org/api/latest/#io.fromMemory and "Custom IOHandler" in the tfjs save/load guide).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpointState } from '../cli/blob-reader.js';
import { openForRead } from '../cli/source.js';
import { CkptError } from '../errors.js';
import { BlobStore } from '../store/blobs.js';
import { writeTfjsModel } from '../store/export-tfjs.js';
import { readManifest } from '../store/read.js';
import { resolveRef } from '../store/refs.js';

export interface LoadModelOptions {
  /** The ckpt directory a ref is resolved in (default `./checkpoints`). Ignored for an export directory. */
  dir?: string;
  /** Which object of the checkpoint is the model (default `model`, or the only one). */
  object?: string;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string; generatedBy?: string; convertedBy?: string | null;
  trainingConfig?: tf.io.TrainingConfig; userDefinedMetadata?: { [key: string]: {} };
}

/**
 * An IOHandler that reads a tfjs `model.json` and the weight files it names from the local file system.
 * @example const model = await tf.loadLayersModel(fileSystemModel('./model/model.json'))
 */
export function fileSystemModel(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: ModelJson;
      try {
        json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
      } catch (error) {
        throw new CkptError('STORE_NOT_FOUND', `cannot read a tfjs model.json at ${modelJsonPath}; export one with \`npx ckpt export best --format tfjs --out ./model\``, { cause: error, details: { path: modelJsonPath } });
      }
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) shards.push(await readFile(join(dirname(modelJsonPath), path)));
      }
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology, weightSpecs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
        format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy ?? undefined,
        trainingConfig: json.trainingConfig, userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

/**
 * Load a Keras-style layers model. `refOrDir` is an export directory (or its model.json), else a checkpoint ref
 * (`best`, `latest`, `ckpt-3`, `epoch:4`, `run-2/best:val_acc`) in `options.dir`; its blobs are hash-verified
 * and it works while another process (`ckpt train`) owns the directory.
 * @example
 *   import { loadModel } from 'ckpt'
 *   const model = await loadModel('./model')                         // after `npx ckpt export best --format tfjs --out ./model`
 *   const best = await loadModel('best', { dir: './checkpoints' })   // straight from the ledger
 */
export async function loadModel(refOrDir: string, options: LoadModelOptions = {}): Promise<tf.LayersModel> {
  if (existsSync(refOrDir)) {
    const path = statSync(refOrDir).isDirectory() ? join(refOrDir, 'model.json') : refOrDir;
    return tf.loadLayersModel(fileSystemModel(path));
  }
  const dir = options.dir ?? './checkpoints';
  const source = await openForRead(dir);
  const tmp = await mkdtemp(join(tmpdir(), 'ckpt-load-model-'));
  try {
    const checkpoint = resolveRef(source.state, refOrDir);
    const state = await loadCheckpointState(source.dir, checkpoint); // verified; STORE_CORRUPT / STORE_PRUNED otherwise
    const blobs = new BlobStore(source.dir);
    const manifest = await readManifest(checkpoint.manifest, (hash) => blobs.read(hash), checkpoint.id);
    const names = Object.keys(state.objects);
    const object = options.object ?? (names.includes('model') ? 'model' : names.length === 1 ? names[0] : undefined);
    if (!object || !state.objects[object]) {
      throw new CkptError('STORE_EXPORT_UNSUPPORTED', `${checkpoint.id} holds objects ${names.join(', ')}; pass { object } to pick the model`, { details: { objects: names } });
    }
    // The export's own writer makes the model.json, so a loaded ref is exactly what `ckpt export` would give.
    const out = join(tmp, basename(checkpoint.id));
    await writeTfjsModel(out, state.objects[object], manifest, checkpoint.id, {});
    return await tf.loadLayersModel(fileSystemModel(join(out, 'model.json')));
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await source.close();
  }
}
