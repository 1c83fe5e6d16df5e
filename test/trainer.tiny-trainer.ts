/**
 * Fixture (not a suite): the smallest trainer built on the SDK (src/trainer.ts), without tfjs — its "model" is one
 * float64 weight that each batch nudges. Starts fast, so SDK behaviour can be fuzzed cheaply.
 */
import { runTrainer, type CheckpointState } from '../src/trainer.js';

let weight = 0;
let epoch = 0;
let step = 0;
const bytes = (x: number) => new Uint8Array(new Float64Array([x]).buffer);

await runTrainer({ name: 'tiny', version: '0.0.1', backend: 'none' }, {
  async setup(start) {
    weight = start.seed;
    if (start.state) {
      weight = new DataView(start.state.objects.model.weights[0].data.buffer, start.state.objects.model.weights[0].data.byteOffset).getFloat64(0, true);
      epoch = start.state.trainer.epoch;
      step = start.state.trainer.step;
    }
  },
  async train(ctx) {
    while (epoch < ctx.config.epochs) {
      for (let b = 0; b < 4; b++) {
        weight = weight * 0.5 + 1;
        step++;
        if (await ctx.checkpoint()) return { epoch, step };
      }
      epoch++;
      await ctx.epochEnd(epoch, step, { loss: weight }, 0);
    }
    return { epoch, step };
  },
  async capture(): Promise<CheckpointState> {
    return { objects: { model: { weights: [{ name: 'w', dtype: 'float64', shape: [1], data: bytes(weight) }] } }, trainer: { epoch, step }, history: [] };
  },
  async restore(state) {
    weight = new DataView(state.objects.model.weights[0].data.buffer, state.objects.model.weights[0].data.byteOffset).getFloat64(0, true);
  },
});
