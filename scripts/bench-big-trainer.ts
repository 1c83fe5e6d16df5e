/**
 * The synthetic trainer of `npm run bench:big`: a model of `config.bytes` bytes of float32 weights in
 * `config.tensors` tensors, trained by a loop of `config.batches` batches of `config.batchMs` ms (busy work that
 * touches every tensor) through the TypeScript SDK (`ckpt/trainer`), exactly as a user's trainer is.
 * It reports, as `log` lines starting with "bench ", the time its loop spent inside SDK calls each epoch (the
 * stall checkpointing causes: capture, answering save requests), when setup finished, and its peak RSS.
 */
import { readFileSync } from 'node:fs';
import { runTrainer } from '../src/trainer.js';
import type { CheckpointState } from '../src/trainer.js';

let weights: Float32Array[] = [];
let position = { epoch: 0, step: 0 };
/** Time spent in capture() (the copy of the weights) since the last report. */
let captureMs = 0;

function peakRssBytes(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
}

/**
 * A loaded tensor's float32 values: a view of its bytes where they are aligned (a staged tensor is read into its
 * own buffer), a copy where not (a frame's bytes may sit at any offset). The hand-over ends with the bytes here.
 */
function floatsOf(t: { data: Uint8Array }): Float32Array {
  const { buffer, byteOffset, byteLength } = t.data;
  return byteOffset % 4 === 0 ? new Float32Array(buffer, byteOffset, byteLength / 4) : new Float32Array(buffer.slice(byteOffset, byteOffset + byteLength));
}

/** Busy work for about `ms` that changes every tensor a little (so each checkpoint is new bytes). */
function trainBatch(ms: number, step: number): void {
  const until = performance.now() + ms;
  for (let i = 0; performance.now() < until; i++) {
    const t = weights[i % weights.length];
    for (let k = 0; k < 256; k++) t[(step * 256 + k) % t.length] += 1e-3;
  }
}

await runTrainer({ name: 'bench-big', version: '1.0.0', backend: 'cpu' }, {
  async setup(start) {
    const bytes = Number(start.config.bytes ?? 256 * 2 ** 20);
    const count = Number(start.config.tensors ?? 100);
    const each = Math.floor(bytes / count / 4);
    if (start.state) {
      weights = start.state.objects.model.weights.map(floatsOf);
      position = { epoch: start.state.trainer.epoch, step: start.state.trainer.step };
    } else {
      weights = Array.from({ length: count }, (_, i) => new Float32Array(each).fill(i / count));
    }
  },
  async train(ctx) {
    const batches = Number(ctx.config.batches ?? 20);
    const batchMs = Number(ctx.config.batchMs ?? 25);
    ctx.log('info', `bench setup ${JSON.stringify({ at: Date.now(), epoch: position.epoch })}`);
    for (let epoch = position.epoch + 1; epoch <= ctx.config.epochs; epoch++) {
      let inSdkMs = 0;
      const started = performance.now();
      for (let batch = 0; batch < batches; batch++) {
        trainBatch(batchMs, position.step);
        position.step++;
        const t0 = performance.now();
        const stop = await ctx.checkpoint();
        inSdkMs += performance.now() - t0;
        if (stop) return position;
      }
      position.epoch = epoch;
      const t0 = performance.now();
      await ctx.epochEnd(epoch, position.step, { loss: 1 / epoch, val_loss: 1 / epoch }, Math.round(performance.now() - started));
      inSdkMs += performance.now() - t0;
      ctx.log('info', `bench epoch ${JSON.stringify({ epoch, inSdkMs, captureMs, peakRss: peakRssBytes() })}`);
      captureMs = 0;
    }
    // The last epoch's save request arrives after its epoch_end: answer it before the loop ends.
    const t0 = performance.now();
    await ctx.checkpoint();
    ctx.log('info', `bench end ${JSON.stringify({ inSdkMs: performance.now() - t0, peakRss: peakRssBytes() })}`);
    return position;
  },
  async capture(buffer): Promise<CheckpointState> {
    const t0 = performance.now();
    // Each tensor copied into a buffer the SDK reuses once the state it held is written and released.
    const copy = (w: Float32Array): Uint8Array => {
      const out = buffer(w.byteLength);
      out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
      return out;
    };
    const state: CheckpointState = {
      objects: { model: { weights: weights.map((w, i) => ({ name: `layer${i}/kernel`, dtype: 'float32', shape: [w.length], data: copy(w) })) } },
      trainer: { ...position },
      history: [],
    };
    captureMs += performance.now() - t0;
    return state;
  },
  async restore(state) {
    weights = state.objects.model.weights.map(floatsOf);
  },
});
