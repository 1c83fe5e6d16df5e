/**
 * tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so a conv net cannot train on wasm out of the box, and
 * the cpu backend's conv gradients are ~100x slower. This replaces Conv2D's filter gradient (stride 1, NHWC,
 * 'valid' or 'same' padding, no dilation) with KH·KW matrix products of shifted input windows and dy — kernels
 * wasm has. Other convolutions keep tfjs's own gradient.
 */
import * as tf from '@tensorflow/tfjs';

let installed = false;

/**
 * Install the gradient override once per process (call it only when the backend is wasm).
 * @example if (backend === 'wasm') installWasmConvGradient();
 */
export function installWasmConvGradient(): void {
  if (installed) return;
  installed = true;
  const original = tf.getGradient('Conv2D');
  const warn = console.warn;
  console.warn = () => {}; // registerGradient warns that it overrides the built-in one; that is the point
  try {
    tf.registerGradient({
      kernelName: 'Conv2D',
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { strides, pad, dataFormat, dilations } = attrs as unknown as { strides: number | number[]; pad: unknown; dataFormat: string; dilations: number | number[] };
        const ones = (v: number | number[]) => (Array.isArray(v) ? v.every((n) => n === 1) : v === 1);
        if (!ones(strides) || !ones(dilations)) return original.gradFunc(dy, saved, attrs);
        if (dataFormat !== 'NHWC' || (pad !== 'valid' && pad !== 'same')) return original.gradFunc(dy, saved, attrs);
        const grads = original.gradFunc(dy, saved, attrs);
        return { x: grads.x, filter: () => filterGradient(x, dy as tf.Tensor4D, filter.shape, pad) };
      },
    });
  } finally {
    console.warn = warn;
  }
}

function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], pad: 'valid' | 'same'): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const [b, oh, ow] = dy.shape;
    let input = x;
    if (pad === 'same') {
      const padH = Math.max(oh + kh - 1 - x.shape[1], 0);
      const padW = Math.max(ow + kw - 1 - x.shape[2], 0);
      input = tf.pad(x, [[0, 0], [Math.floor(padH / 2), padH - Math.floor(padH / 2)], [Math.floor(padW / 2), padW - Math.floor(padW / 2)], [0, 0]]);
    }
    const rows = b * oh * ow;
    const dy2 = dy.reshape([rows, co]);
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = tf.slice(input, [0, i, j, 0], [b, oh, ow, ci]).reshape([rows, ci]);
        parts.push(tf.matMul(window, dy2, true, false));
      }
    }
    return tf.stack(parts).reshape([kh, kw, ci, co]) as tf.Tensor4D;
  });
}
