/**
 * Fixture (not a suite): a small MNIST classifier on the tfjs trainer of trainers/lib that, given
 * `config.gate` (a file path), waits after epoch `config.gateAfterEpoch` (default 1) until that file exists —
 * still answering the supervisor's save requests — so a test can act from the page at a known point of a run.
 */
import { runTrainer, type TrainerContext } from '../src/trainer.js'; // first: stdout carries frames only
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/tfjs/backend.js';
import { createMnistTrainer } from '../trainers/lib/tfjs-trainer.js';

function buildSmall(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const inner = createMnistTrainer({ inputShape: [784], buildModel: buildSmall });
const backend = await selectBackend();
await runTrainer({ name: 'gated-mlp', version: '0.0.1', backend }, {
  ...inner,
  async train(ctx) {
    const gate = typeof ctx.config.gate === 'string' ? ctx.config.gate : undefined;
    const after = Number(ctx.config.gateAfterEpoch ?? 1);
    const gated: TrainerContext = {
      ...ctx,
      async epochEnd(epoch, step, metrics, ms) {
        await ctx.epochEnd(epoch, step, metrics, ms);
        while (gate && epoch === after && !existsSync(gate)) {
          if (await ctx.checkpoint()) break; // answers save requests; a stop ends the wait
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
    };
    return inner.train(gated);
  },
});
