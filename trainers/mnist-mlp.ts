/**
 * mnist-mlp: Dense 128 relu → Dense 64 relu → Dense 10 softmax, Adam, on a deterministic MNIST split.
 * Run it under the protocol (docs/protocol.md); see trainers/README.md for how to spawn it and its knobs.
 */
import { runTrainer } from '../src/trainer.js'; // first: stdout carries frames only from here on
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/sdk/tfjs.js';
import { createMnistTrainer } from './lib/tfjs-trainer.js';
import { BUILTIN_TRAINER_VERSION } from './lib/info.js';

/**
 * The network, with seeded Glorot kernels and zero biases.
 * @example const model = buildMlp(42); model.countParams() // 109386
 */
export function buildMlp(seed: number): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 16 + i });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

const backend = await selectBackend();
await runTrainer({ name: 'mnist-mlp', version: BUILTIN_TRAINER_VERSION, backend }, createMnistTrainer({ inputShape: [784], buildModel: buildMlp }));
