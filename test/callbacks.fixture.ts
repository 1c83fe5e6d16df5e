// Shared fixture of the callbacks suites: a tiny seeded regression model and deterministic data, on the cpu
// backend (bit-for-bit reproducible), plus helpers to read what a fit left in a ckpt directory.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEvent } from '../ledger/types.js';
import { weightsDigest } from '../src/store/digest.js';
import { captureObject } from '../src/tfjs/state.js';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** 200 samples of y = a + 2b - c + noise from a seeded mulberry32 generator (no tf randomness involved). */
export function makeData(n = 200, seed = 42): { x: tf.Tensor2D; y: tf.Tensor2D } {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd(), b = rnd(), c = rnd();
    xs.push(a, b, c);
    ys.push(a + 2 * b - c + (rnd() - 0.5) * 0.5);
  }
  return { x: tf.tensor2d(xs, [n, 3]), y: tf.tensor2d(ys, [n, 1]) };
}

/** Dense 8 relu → 1, seeded initializers, Adam: with lr 0.2 its val_loss goes up now and then (good for tests). */
export function makeModel(learningRate = 0.2): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [3], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'meanSquaredError' });
  return model;
}

/** weightsDigest of the model's current weights (same function the store records in CheckpointCommitted). */
export async function modelDigest(model: tf.LayersModel): Promise<string> {
  return weightsDigest({ objects: { model: await captureObject(model) } });
}

/** Records the weights digest at the end of every epoch (1-based), for comparison with what was restored. */
export class DigestProbe extends tf.Callback {
  readonly byEpoch = new Map<number, string>();
  override async onEpochEnd(epoch: number): Promise<void> {
    this.byEpoch.set(epoch + 1, await modelDigest(this.model as tf.LayersModel));
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ckpt-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every event in the ckpt directory, in seq order (opens and closes the workspace). */
export { readEvents } from './fixtures/run-helpers.js';

export const ofType = <T = Record<string, unknown>>(events: LedgerEvent[], type: string): T[] =>
  events.filter((e) => e.type === type).map((e) => e.data as T);
