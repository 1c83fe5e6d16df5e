/**
 * mnist-cnn: a small conv net (Conv 8@3x3 relu → MaxPool 2 → Conv 16@3x3 relu → MaxPool 2 → Flatten →
 * Dense 10 softmax), Adam, on the same deterministic MNIST split as mnist-mlp.
 */
import { runTrainer } from '../src/trainer.js'; // first: stdout carries frames only from here on
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/sdk/tfjs.js';
import { createMnistTrainer } from './lib/tfjs-trainer.js';
import { BUILTIN_TRAINER_VERSION } from './lib/info.js';
import { installWasmConvGradient } from './lib/conv-grad.js';

/**
 * The network, with seeded Glorot kernels and zero biases.
 * @example buildCnn(7).outputs[0].shape // [null, 10]
 */
export function buildCnn(seed: number): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 16 + i });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

const backend = await selectBackend();
if (backend === 'wasm') installWasmConvGradient();
await runTrainer({ name: 'mnist-cnn', version: BUILTIN_TRAINER_VERSION, backend }, createMnistTrainer({ inputShape: [28, 28, 1], buildModel: buildCnn }));
