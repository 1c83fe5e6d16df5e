// Shared helpers of the store suites: deterministic checkpoint states built by code, temp dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointState, DType, TensorData } from '../src/checkpoint.js';
import type { CommitMeta } from '../src/store/write.js';

/** Deterministic pseudo-random bytes (xorshift32) so tests never depend on Math.random. */
export function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function floats(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

export function tensor(name: string, shape: number[], seed: number, dtype: DType = 'float32'): TensorData {
  const size = { float32: 4, int32: 4, bool: 1, complex64: 8, float16: 2, float64: 8, int8: 1, int16: 2, int64: 8, uint8: 1, uint16: 2, uint32: 4, string: 1 }[dtype];
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: bytes(n * size, seed) };
}

/** A small Adam-trained dense model's state: kernel, bias, two moments per weight, iteration, hidden betas. */
export function modelState(id: number, epoch = 1): CheckpointState {
  const seed = id * 10;
  return {
    objects: {
      model: {
        topology: { class_name: 'Sequential', config: { name: 'tiny', layers: [] } },
        weights: [tensor('dense/kernel', [4, 3], seed), tensor('dense/bias', [3], seed + 1)],
        optimizer: {
          className: 'Adam',
          config: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
          slots: [tensor('dense/kernel/m', [4, 3], seed + 2), tensor('dense/kernel/v', [4, 3], seed + 3)],
          hidden: { accBeta1: 0.9 ** epoch, accBeta2: 0.999 ** epoch },
        },
      },
    },
    trainer: { epoch, step: epoch * 10, rng: { s: [seed, 7, 9, 11] }, cursor: { batch: 0 } },
    history: Array.from({ length: epoch }, (_, i) => ({ epoch: i + 1, metrics: { loss: 1 / (i + 1) } })),
  };
}

export function meta(run: string, epoch: number, metrics: Record<string, number>, extra: Partial<CommitMeta> = {}): CommitMeta {
  return { run, epoch, step: epoch * 10, metrics, trainer: 'test-trainer', backend: 'cpu', ...extra };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `ckpt-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
