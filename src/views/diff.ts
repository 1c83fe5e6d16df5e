/**
 * `ckpt diff <a> <b>`: metrics side by side (from the read model) and, given both checkpoints' loaded state,
 * per-tensor L2 distance and max absolute difference. Pure.
 */
import type { CheckpointState, TensorData } from '../checkpoint.js';
import type { CatalogState } from '../projections/catalog.js';
import { resolveRef } from '../store/refs.js';

export interface MetricDiffRow { metric: string; a: number | null; b: number | null; delta: number | null }
export interface TensorDiffRow {
  /** `<object>/<tensor>`, e.g. `model/dense_1/kernel`. */
  name: string;
  dtype: string;
  shape: number[];
  /** L2 norm of (b - a); null when shapes or dtypes differ or the tensor is on one side only. */
  l2: number | null;
  maxAbs: number | null;
  note?: 'only-in-a' | 'only-in-b' | 'shape-mismatch' | 'not-numeric';
}
export interface DiffView {
  a: { id: string; run: string; epoch: number; weightsDigest: string };
  b: { id: string; run: string; epoch: number; weightsDigest: string };
  sameWeights: boolean;
  metrics: MetricDiffRow[];
  tensors?: TensorDiffRow[];
}

/**
 * Metrics side by side; add `tensors` with `tensorDiff` once both states are loaded.
 * @example diffView(state, 'epoch:1', 'best').metrics.find((m) => m.metric === 'val_loss')?.delta
 */
export function diffView(state: CatalogState, refA: string, refB: string): DiffView {
  const a = resolveRef(state, refA);
  const b = resolveRef(state, refB);
  const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  const metrics = names.map((metric) => {
    const va = typeof a.metrics[metric] === 'number' ? a.metrics[metric] : null;
    const vb = typeof b.metrics[metric] === 'number' ? b.metrics[metric] : null;
    return { metric, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
  });
  const side = (c: typeof a) => ({ id: c.id, run: c.run, epoch: c.epoch, weightsDigest: c.weightsDigest });
  return { a: side(a), b: side(b), sameWeights: a.weightsDigest === b.weightsDigest, metrics };
}

/**
 * Per-tensor distance between the weights of two loaded checkpoints (every object, in `a`'s order, then
 * tensors only in `b`).
 * @example tensorDiff(loadedA, loadedB)[0] // { name: 'model/dense/kernel', l2: 0.0123, maxAbs: 0.004, ... }
 */
export function tensorDiff(a: CheckpointState, b: CheckpointState): TensorDiffRow[] {
  const index = (s: CheckpointState) => {
    const map = new Map<string, TensorData>();
    for (const [object, o] of Object.entries(s.objects)) for (const t of o.weights) map.set(`${object}/${t.name}`, t);
    return map;
  };
  const ta = index(a);
  const tb = index(b);
  const rows: TensorDiffRow[] = [];
  for (const [name, x] of ta) {
    const y = tb.get(name);
    if (!y) {
      rows.push({ name, dtype: x.dtype, shape: x.shape, l2: null, maxAbs: null, note: 'only-in-a' });
      continue;
    }
    if (x.dtype !== y.dtype || x.shape.join(',') !== y.shape.join(',')) {
      rows.push({ name, dtype: x.dtype, shape: x.shape, l2: null, maxAbs: null, note: 'shape-mismatch' });
      continue;
    }
    const va = toNumbers(x);
    const vb = toNumbers(y);
    if (!va || !vb) {
      rows.push({ name, dtype: x.dtype, shape: x.shape, l2: null, maxAbs: null, note: 'not-numeric' });
      continue;
    }
    let sum = 0;
    let max = 0;
    for (let i = 0; i < va.length; i++) {
      const d = vb[i] - va[i];
      sum += d * d;
      if (Math.abs(d) > max) max = Math.abs(d);
    }
    rows.push({ name, dtype: x.dtype, shape: x.shape, l2: Math.sqrt(sum), maxAbs: max });
  }
  for (const [name, y] of tb) if (!ta.has(name)) rows.push({ name, dtype: y.dtype, shape: y.shape, l2: null, maxAbs: null, note: 'only-in-b' });
  return rows;
}

/** A tensor's elements as numbers (little-endian), or null for string / complex tensors. */
export function toNumbers(t: TensorData): Float64Array | null {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const width: Record<string, number> = { float32: 4, int32: 4, uint32: 4, float64: 8, int64: 8, float16: 2, int16: 2, uint16: 2, int8: 1, uint8: 1, bool: 1 };
  const size = width[t.dtype];
  if (!size) return null;
  const n = Math.floor(t.data.byteLength / size);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (t.dtype) {
      case 'float32': out[i] = view.getFloat32(o, true); break;
      case 'float64': out[i] = view.getFloat64(o, true); break;
      case 'int32': out[i] = view.getInt32(o, true); break;
      case 'uint32': out[i] = view.getUint32(o, true); break;
      case 'int64': out[i] = Number(view.getBigInt64(o, true)); break;
      case 'int16': out[i] = view.getInt16(o, true); break;
      case 'uint16': out[i] = view.getUint16(o, true); break;
      case 'float16': out[i] = half(view.getUint16(o, true)); break;
      case 'int8': out[i] = view.getInt8(o); break;
      default: out[i] = view.getUint8(o);
    }
  }
  return out;
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
