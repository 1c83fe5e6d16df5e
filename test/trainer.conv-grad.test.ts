import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/tfjs/backend.js';
import { installWasmConvGradient } from '../trainers/lib/conv-grad.js';

/** Gradients of sum(conv2d(x, w)^2) w.r.t. x and w, as nested arrays, on the current backend. */
function grads(x: number[][][][], w: number[][][][], pad: 'valid' | 'same') {
  const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, pad).square().sum();
  const [gx, gw] = tf.grads(f)([tf.tensor4d(x), tf.tensor4d(w)]);
  return { dx: gx.dataSync(), dw: gw.dataSync(), shape: gw.shape };
}

const maxRelDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
};

test('given a conv layer, when its filter gradient is computed on wasm with the override, then it matches tfjs cpu to float precision', async () => {
  await selectBackend({ prefer: ['cpu'] });
  const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1).arraySync() as number[][][][];
  const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2).arraySync() as number[][][][];
  const reference = { valid: grads(x, w, 'valid'), same: grads(x, w, 'same') };
  assert.is(await selectBackend({ prefer: ['wasm'] }), 'wasm');
  assert.throws(() => grads(x, w, 'valid'), /Conv2DBackpropFilter/, 'plain wasm cannot train convs (why the override exists)');
  installWasmConvGradient();
  for (const pad of ['valid', 'same'] as const) {
    const ours = grads(x, w, pad);
    assert.equal(ours.shape, [3, 3, 3, 4]);
    assert.ok(maxRelDiff(reference[pad].dw, ours.dw) < 1e-5, `${pad} dW differs by ${maxRelDiff(reference[pad].dw, ours.dw)}`);
    assert.ok(maxRelDiff(reference[pad].dx, ours.dx) < 1e-5, `${pad} dx`);
  }
});

test('given tfjs-node is not installed, when the native backend is preferred first, then selection falls back to the next that loads', async () => {
  assert.is(await selectBackend({ prefer: ['tensorflow', 'cpu'] }), 'cpu');
  assert.is(tf.getBackend(), 'cpu');
  assert.is(await selectBackend({ prefer: ['tensorflow', 'wasm'] }), 'wasm');
});

test.run();
