/**
 * Export as a TensorFlow.js layers-model directory: `model.json` (topology + weightsManifest) and 4 MiB
 * weight shards, exactly what `model.save('file://…')` writes, so `tf.loadLayersModel` loads it unchanged.
 * With `includeOptimizer` the optimizer slots follow as group `optimizer` (+ `trainingConfig` when the loss is
 * known), as tfjs's own `save({includeOptimizer: true})` does.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectState, TensorData } from '../checkpoint.js';
import { CkptError } from '../errors.js';
import { writeFileDurable } from './fsync.js';
import type { Manifest } from './manifest.js';

const TFJS_DTYPES = new Set(['float32', 'int32', 'bool', 'string', 'complex64']);
export const TFJS_SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsExportOptions {
  includeOptimizer?: boolean;
  /** Loss identifier for `trainingConfig` (e.g. 'meanSquaredError') when the topology does not carry one. */
  loss?: string | string[];
  metrics?: string[];
}

interface WeightSpec { name: string; shape: number[]; dtype: string; group?: string }

/** The model topology JSON and, when the trainer sent one, its training config. */
function splitTopology(topology: unknown): { modelTopology: Record<string, unknown>; trainingConfig?: Record<string, unknown> } {
  const t = topology as Record<string, unknown> | undefined;
  if (!t || typeof t !== 'object' || t instanceof Uint8Array) {
    throw new CkptError('STORE_EXPORT_UNSUPPORTED', 'this checkpoint has no tfjs model topology (its trainer is not tfjs); export it as safetensors or bundle');
  }
  if (t.modelTopology && typeof t.modelTopology === 'object') {
    return { modelTopology: t.modelTopology as Record<string, unknown>, ...(t.trainingConfig ? { trainingConfig: t.trainingConfig as Record<string, unknown> } : {}) };
  }
  if (typeof t.class_name !== 'string') throw new CkptError('STORE_EXPORT_UNSUPPORTED', 'the stored topology is not a tfjs model JSON; export as safetensors or bundle');
  return { modelTopology: t };
}

function specsOf(tensors: TensorData[], group?: string): WeightSpec[] {
  return tensors.map((t) => {
    if (!TFJS_DTYPES.has(t.dtype)) throw new CkptError('STORE_EXPORT_UNSUPPORTED', `tensor '${t.name}' has dtype ${t.dtype}, which tfjs cannot load; export as safetensors instead`);
    return { name: t.name, shape: [...t.shape], dtype: t.dtype, ...(group ? { group } : {}) };
  });
}

/**
 * Write one object of a loaded checkpoint as a tfjs model directory. Returns the files written and warnings.
 * @example await writeTfjsModel('./out', loaded.state.objects.model, loaded.manifest, 'ckpt-4', {})
 */
export async function writeTfjsModel(out: string, object: ObjectState, manifest: Manifest, id: string, options: TfjsExportOptions): Promise<{ files: string[]; bytes: number; warnings: string[] }> {
  const { modelTopology, trainingConfig: carried } = splitTopology(object.topology);
  const warnings: string[] = [];
  const tensors = [...object.weights];
  const specs = specsOf(object.weights);
  let trainingConfig = carried;
  if (options.includeOptimizer) {
    if (!object.optimizer) {
      warnings.push(`${id} has no optimizer state; exported weights only`);
    } else {
      tensors.push(...object.optimizer.slots);
      specs.push(...specsOf(object.optimizer.slots, 'optimizer'));
      const loss = options.loss ?? (object.optimizer.config.loss as string | undefined);
      if (!trainingConfig && loss) {
        trainingConfig = { loss, metrics: options.metrics ?? [], optimizer_config: { class_name: object.optimizer.className, config: object.optimizer.config } };
      }
      if (!trainingConfig) warnings.push('no loss is known, so model.json has no trainingConfig and tfjs will not restore the optimizer; pass the loss to include it');
    }
  }
  const total = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const shardCount = Math.max(1, Math.ceil(total / TFJS_SHARD_BYTES));
  const paths = Array.from({ length: shardCount }, (_, i) => `group1-shard${i + 1}of${shardCount}.bin`);
  const all = Buffer.allocUnsafe(total);
  let at = 0;
  for (const t of tensors) {
    all.set(t.data, at);
    at += t.data.byteLength;
  }
  await mkdir(out, { recursive: true });
  for (let i = 0; i < shardCount; i++) {
    await writeFileDurable(join(out, paths[i]), all.subarray(i * TFJS_SHARD_BYTES, Math.min(total, (i + 1) * TFJS_SHARD_BYTES)));
  }
  const modelJson = {
    modelTopology,
    format: 'layers-model',
    generatedBy: `ckpt export of ${id}`,
    convertedBy: null,
    weightsManifest: [{ paths, weights: specs }],
    ...(trainingConfig ? { trainingConfig } : {}),
    userDefinedMetadata: { ckpt: { checkpoint: id, run: manifest.run, epoch: manifest.epoch, step: manifest.step, metrics: manifest.metrics, weightsDigest: manifest.weightsDigest } },
  };
  await writeFileDurable(join(out, 'model.json'), Buffer.from(JSON.stringify(modelJson), 'utf8'));
  return { files: ['model.json', ...paths].map((p) => join(out, p)), bytes: total, warnings };
}
