/**
 * A tfjs MNIST trainer with its own epoch loop (tfjs `fit` shuffles with Math.random): a seeded, serializable
 * shuffle, a batch cursor, and full state capture/restore, so a run resumed from any saved state reaches the
 * same weights as an uninterrupted run with the same seed. mnist-mlp and mnist-cnn differ only in `buildModel`.
 */
import * as tf from '@tensorflow/tfjs';
import type { CaptureBuffer, CheckpointState, HistoryEntry, Metrics, TrainerStart, TrainerContext, TrainerHandlers } from '../../src/trainer.js';
import { captureObject, restoreObject } from '../../src/sdk/tfjs.js';
import { CLASSES, loadMnist, PIXELS, type MnistSplits, type Split } from './mnist-data.js';
import { Rng } from './rng.js';

export interface MnistTrainerConfig {
  epochs: number;
  batchSize: number;
  batchEvery: number;
  trainSize: number;
  validationSize: number;
  testSize: number;
  learningRate: number;
}

export const DEFAULT_CONFIG: MnistTrainerConfig = {
  epochs: 5, batchSize: 32, batchEvery: 0, trainSize: 3000, validationSize: 500, testSize: 500, learningRate: 0.001,
};

export interface MnistModelSpec {
  /** Input shape of one sample: [784] for an MLP, [28, 28, 1] for a conv net. */
  inputShape: number[];
  /** Build the network with seeded initializers (no training-time randomness such as dropout). */
  buildModel(seed: number): tf.LayersModel;
}

/** Where the loop is: completed epochs and steps, the RNG state at the start of the epoch in progress, and how far into it. */
interface Position {
  epoch: number;
  step: number;
  rng: number[];
  cursor: { batch: number; lossSum: number; correct: number; seen: number };
}

/**
 * Trainer handlers for an MNIST classifier (metrics `loss`, `acc`, `val_loss`, `val_acc`).
 * @example await runTrainer(info, createMnistTrainer({ inputShape: [784], buildModel: buildMlp }))
 */
export function createMnistTrainer(spec: MnistModelSpec): TrainerHandlers & { readonly position: Position } {
  let config: MnistTrainerConfig = DEFAULT_CONFIG;
  let data: MnistSplits | undefined;
  let model: tf.LayersModel | undefined;
  let optimizer: tf.Optimizer | undefined;
  let seed = 0;
  let savedBackend: string | undefined;
  let history: HistoryEntry[] = [];
  let pos: Position = { epoch: 0, step: 0, rng: [], cursor: { batch: 0, lossSum: 0, correct: 0, seen: 0 } };

  async function setup(start: Pick<TrainerStart, 'config' | 'seed' | 'state'>): Promise<void> {
    config = { ...DEFAULT_CONFIG, ...pickNumbers(start.config) };
    seed = start.seed;
    data = loadMnist(config);
    model = spec.buildModel(seed);
    optimizer = tf.train.adam(config.learningRate);
    pos = { epoch: 0, step: 0, rng: Rng.fromSeed(seed).state(), cursor: { batch: 0, lossSum: 0, correct: 0, seen: 0 } };
    history = [];
    if (start.state) {
      // A fresh Adam has no slot variables until its first step; restoreOptimizer() creates them.
      await restoreObject(model, optimizer, start.state.objects.model);
      const t = start.state.trainer as { epoch: number; step: number; rng?: number[]; cursor?: Position['cursor'] };
      pos = { epoch: t.epoch, step: t.step, rng: t.rng ? [...t.rng] : pos.rng, cursor: { ...pos.cursor, ...(t.cursor ?? {}) } };
      history = (start.state.history ?? []).map((h) => ({ epoch: h.epoch, metrics: { ...h.metrics } }));
      savedBackend = typeof start.state.trainer.backend === 'string' ? start.state.trainer.backend : undefined;
    }
  }

  async function capture(buffer?: CaptureBuffer): Promise<CheckpointState> {
    if (!model || !optimizer) throw Object.assign(new Error('no model yet: send start first'), { code: 'PROTOCOL_NOT_STARTED' });
    return {
      objects: { model: await captureObject(model, optimizer, buffer) },
      trainer: { epoch: pos.epoch, step: pos.step, rng: [...pos.rng], cursor: { ...pos.cursor }, seed, config: { ...config }, backend: tf.getBackend() },
      history: history.map((h) => ({ epoch: h.epoch, metrics: { ...h.metrics } })),
    };
  }

  async function train(ctx: TrainerContext): Promise<{ epoch: number; step: number }> {
    const train = data!.train;
    const batchSize = config.batchSize;
    const batches = Math.ceil(train.n / batchSize);
    if (pos.step > 0) ctx.log('info', `resuming at epoch ${pos.epoch + 1}, batch ${pos.cursor.batch + 1} of ${batches} (step ${pos.step})`);
    if (savedBackend && savedBackend !== tf.getBackend()) {
      ctx.log('warn', `the checkpoint was trained on ${savedBackend} and resumes on ${tf.getBackend()}: training continues, but not bit-identically to an uninterrupted ${savedBackend} run`);
    }
    while (pos.epoch < config.epochs) {
      const t0 = performance.now();
      const rng = Rng.fromState(pos.rng);
      const order = rng.permutation(train.n);
      for (let b = pos.cursor.batch; b < batches; b++) {
        const rows = order.subarray(b * batchSize, Math.min(train.n, (b + 1) * batchSize));
        const { loss, correct } = trainBatch(train, rows);
        pos.step++;
        pos.cursor = { batch: b + 1, lossSum: pos.cursor.lossSum + loss * rows.length, correct: pos.cursor.correct + correct, seen: pos.cursor.seen + rows.length };
        if (config.batchEvery > 0 && (b + 1) % config.batchEvery === 0) {
          await ctx.batchEnd(pos.epoch + 1, b + 1, pos.step, { loss: pos.cursor.lossSum / pos.cursor.seen, acc: pos.cursor.correct / pos.cursor.seen });
        }
        if (await ctx.checkpoint()) return { epoch: pos.epoch, step: pos.step };
      }
      const val = measure(data!.validation);
      const metrics: Metrics = { loss: pos.cursor.lossSum / pos.cursor.seen, acc: pos.cursor.correct / pos.cursor.seen, val_loss: val.loss, val_acc: val.acc };
      pos = { epoch: pos.epoch + 1, step: pos.step, rng: rng.state(), cursor: { batch: 0, lossSum: 0, correct: 0, seen: 0 } };
      history.push({ epoch: pos.epoch, metrics });
      await ctx.epochEnd(pos.epoch, pos.step, metrics, Math.round(performance.now() - t0));
      if (await ctx.checkpoint()) break;
    }
    return { epoch: pos.epoch, step: pos.step };
  }

  function trainBatch(split: Split, rows: Int32Array): { loss: number; correct: number } {
    const { xs, ys } = gather(split, rows, spec.inputShape);
    let preds: tf.Tensor | undefined;
    const lossTensor = optimizer!.minimize(() => {
      const p = model!.apply(xs, { training: true }) as tf.Tensor;
      preds = tf.keep(p);
      return tf.metrics.categoricalCrossentropy(ys, p).mean() as tf.Scalar;
    }, true)!;
    const correctTensor = tf.tidy(() => tf.equal(tf.argMax(preds!, 1), tf.argMax(ys, 1)).sum());
    const loss = lossTensor.dataSync()[0];
    const correct = correctTensor.dataSync()[0];
    tf.dispose([xs, ys, preds!, lossTensor, correctTensor]);
    return { loss, correct };
  }

  function measure(split: Split): { loss: number; acc: number } {
    if (split.n === 0) return { loss: NaN, acc: NaN };
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < split.n; start += 256) {
      const rows = Int32Array.from({ length: Math.min(256, split.n - start) }, (_, i) => start + i);
      const { xs, ys } = gather(split, rows, spec.inputShape);
      const [l, c] = tf.tidy(() => {
        const p = model!.predict(xs) as tf.Tensor;
        return [tf.metrics.categoricalCrossentropy(ys, p).sum(), tf.equal(tf.argMax(p, 1), tf.argMax(ys, 1)).sum()];
      });
      lossSum += l.dataSync()[0];
      correct += c.dataSync()[0];
      tf.dispose([xs, ys, l, c]);
    }
    return { loss: lossSum / split.n, acc: correct / split.n };
  }

  return {
    get position() { return pos; },
    setup,
    capture,
    train,
    async restore(state) {
      await restoreObject(model!, optimizer!, state.objects.model);
    },
    async evaluate(state, splitName) {
      if (!model) await setup({ config: { epochs: 0, batchSize: DEFAULT_CONFIG.batchSize, ...pickNumbers(state.trainer.config) }, seed: 0 });
      const current = await captureObject(model!, optimizer!);
      await restoreObject(model!, undefined, state.objects.model);
      try {
        const result = measure(data![splitName]);
        return { loss: result.loss, acc: result.acc };
      } finally {
        // Training may go on after an eval: it must continue from its own weights, whatever happened here.
        await restoreObject(model!, undefined, current);
      }
    },
  };
}

function gather(split: Split, rows: Int32Array, inputShape: number[]): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(rows.length * PIXELS);
  const y = new Float32Array(rows.length * CLASSES);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    x.set(split.x.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS);
    y.set(split.y.subarray(r * CLASSES, (r + 1) * CLASSES), i * CLASSES);
  }
  return { xs: tf.tensor(x, [rows.length, ...inputShape]), ys: tf.tensor2d(y, [rows.length, CLASSES]) };
}

/** The known numeric knobs of a start config (ignores anything else). */
function pickNumbers(config: unknown): Partial<MnistTrainerConfig> {
  const out: Partial<MnistTrainerConfig> = {};
  if (typeof config !== 'object' || config === null) return out;
  for (const key of Object.keys(DEFAULT_CONFIG) as Array<keyof MnistTrainerConfig>) {
    const value = (config as Record<string, unknown>)[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  return out;
}
