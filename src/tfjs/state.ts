/**
 * Capture and restore one tfjs model + optimizer as an `ObjectState` (src/checkpoint.ts): weights as raw
 * little-endian bytes, the optimizer's slot variables, and the optimizer state that getWeights() does not
 * show. That last part is what makes resume bit-identical: tfjs Adam's setWeights() recomputes accBeta1/accBeta2
 * as pow(beta, t + 1), which differs in the last bits from the running product the uninterrupted run holds.
 */
import * as tf from '@tensorflow/tfjs';
import { endianness } from 'node:os';
import type { CaptureBuffer, DType, ObjectState, OptimizerState, TensorData } from '../checkpoint.js';
import { CkptError } from '../errors.js';

const NUMERIC: ReadonlySet<string> = new Set(['float32', 'int32', 'bool']);

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new CkptError('PROTOCOL_ENDIANNESS', 'ckpt stores tensors little-endian and this host is big-endian; run on a little-endian machine');
}

/** Fresh memory for a capture made without the SDK's capture buffers (in process, `ckpt eval`). */
const fresh: CaptureBuffer = (byteLength) => new Uint8Array(byteLength);

/**
 * Copy a tensor's values into a `TensorData` (a byte buffer the tensor does not share: `buffer`'s, or fresh).
 * @example const td = tensorToData('dense/kernel', model.weights[0].read()); td.data.byteLength === 4 * size
 */
export function tensorToData(name: string, tensor: tf.Tensor, buffer: CaptureBuffer = fresh): TensorData {
  assertLittleEndian();
  if (!NUMERIC.has(tensor.dtype)) {
    throw new CkptError('PROTOCOL_BAD_STATE', `tensor ${name} has dtype ${tensor.dtype}; only float32, int32 and bool tensors can be captured`);
  }
  const values = tensor.dataSync() as Float32Array | Int32Array | Uint8Array;
  const bytes = buffer(values.byteLength);
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { name, dtype: tensor.dtype as DType, shape: [...tensor.shape], data: bytes };
}

/**
 * Build a tensor from a `TensorData` (float64 data is narrowed to float32, the widest dtype tfjs has).
 * @example const t = dataToTensor(td); t.shape // [784, 128]
 */
export function dataToTensor(td: TensorData): tf.Tensor {
  assertLittleEndian();
  const bytes = td.data;
  // Copy into an aligned buffer: msgpack hands us views at arbitrary offsets.
  // (Buffer#slice does not copy, so copy through the Uint8Array constructor.)
  const aligned = new Uint8Array(bytes).buffer;
  const size = td.shape.reduce((a, b) => a * b, 1);
  switch (td.dtype) {
    case 'float32': return tf.tensor(checkSize(td, new Float32Array(aligned), size), td.shape, 'float32');
    case 'float64': return tf.tensor(checkSize(td, Float32Array.from(new Float64Array(aligned)), size), td.shape, 'float32');
    case 'int32': return tf.tensor(checkSize(td, new Int32Array(aligned), size), td.shape, 'int32');
    case 'bool': return tf.tensor(checkSize(td, new Uint8Array(aligned), size), td.shape, 'bool');
    default: throw new CkptError('PROTOCOL_BAD_STATE', `tensor ${td.name} has dtype ${td.dtype}, which tfjs cannot load; export it as float32`);
  }
}

function checkSize<T extends { length: number }>(td: TensorData, values: T, size: number): T {
  if (values.length !== size) {
    throw new CkptError('PROTOCOL_BAD_STATE', `tensor ${td.name}: ${values.length} values for shape [${td.shape.join(', ')}]; the checkpoint is damaged`);
  }
  return values;
}

/**
 * Capture a model's weights and (optionally) its optimizer, including hidden optimizer state, copying the bytes
 * into `buffer`'s buffers (a trainer passes the SDK's `capture(buffer)`) or fresh memory.
 * @example const obj = await captureObject(model, optimizer, buffer); state.objects.model = obj;
 */
export async function captureObject(model: tf.LayersModel, optimizer?: tf.Optimizer, buffer: CaptureBuffer = fresh): Promise<ObjectState> {
  const weights = model.weights.map((w) => tensorToData(w.originalName ?? w.name, w.read(), buffer));
  const object: ObjectState = { topology: topologyOf(model), weights };
  if (optimizer) object.optimizer = await captureOptimizer(optimizer, buffer);
  return object;
}

function topologyOf(model: tf.LayersModel): unknown {
  try {
    return model.toJSON(undefined, false);
  } catch {
    return undefined; // a custom layer without serialization: the weights are still all there
  }
}

/**
 * Capture an optimizer: its slots (getWeights order), config, and hidden scalars such as Adam's accBeta1/2.
 * @example (await captureOptimizer(adam)).hidden // { accBeta1: 0.59..., accBeta2: 0.99..., iterations: 5 }
 */
export async function captureOptimizer(optimizer: tf.Optimizer, buffer: CaptureBuffer = fresh): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const slots = named.map((n) => tensorToData(n.name, n.tensor, buffer));
  // getWeights() makes a fresh tensor for the iteration count; the slot variables belong to the optimizer.
  for (const n of named) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  const listed = new Set(named.map((n) => n.tensor));
  const hidden: Record<string, number> = {};
  for (const [key, value] of Object.entries(optimizer)) {
    if (value instanceof tf.Variable && value.size === 1 && !listed.has(value)) hidden[key] = value.dataSync()[0];
  }
  hidden.iterations = (optimizer as unknown as { iterations_: number }).iterations_ ?? 0;
  return { className: optimizer.getClassName(), config: { ...optimizer.getConfig() }, slots, hidden };
}

/**
 * Put a captured `ObjectState` back into a model with the same architecture (and into its optimizer).
 * Tensors are matched by name when every name matches, else by position; shapes must agree.
 * @example await restoreObject(model, optimizer, state.objects.model)
 */
export async function restoreObject(model: tf.LayersModel, optimizer: tf.Optimizer | undefined, state: ObjectState): Promise<void> {
  const targets = model.weights;
  if (targets.length !== state.weights.length) {
    throw new CkptError('PROTOCOL_BAD_STATE', `the checkpoint has ${state.weights.length} weight tensors but the model has ${targets.length}; load it into the architecture it was saved from`);
  }
  const byName = new Map(state.weights.map((w) => [w.name, w]));
  const useNames = targets.every((t) => byName.has(t.originalName ?? t.name)) && byName.size === targets.length;
  const chosen = targets.map((target, i) => {
    const td = useNames ? byName.get(target.originalName ?? target.name)! : state.weights[i];
    if (td.shape.join(',') !== target.shape.join(',')) {
      throw new CkptError('PROTOCOL_BAD_STATE', `weight ${td.name} has shape [${td.shape}] but the model expects [${target.shape}] for ${target.name}; load it into the architecture it was saved from`);
    }
    return td;
  });
  // Build the tensors inside the try: a damaged tensor part-way through must not leak the ones made before it.
  const tensors: tf.Tensor[] = [];
  try {
    for (const td of chosen) tensors.push(dataToTensor(td));
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  if (optimizer && state.optimizer) await restoreOptimizer(optimizer, state.optimizer);
}

/**
 * Restore slots, then overwrite what setWeights() recomputes (Adam's accBeta1/2) with the captured values.
 * @example await restoreOptimizer(adam, state.objects.model.optimizer!)
 */
export async function restoreOptimizer(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  if (state.className !== optimizer.getClassName()) {
    throw new CkptError('PROTOCOL_BAD_STATE', `the checkpoint holds ${state.className} optimizer state but the trainer uses ${optimizer.getClassName()}; use the same optimizer to resume`);
  }
  const before = (await optimizer.getWeights());
  const old = before.map((n) => n.tensor);
  const named: Array<{ name: string; tensor: tf.Tensor }> = [];
  try {
    for (const s of state.slots) named.push({ name: s.name, tensor: dataToTensor(s) });
  } catch (error) {
    tf.dispose(named.map((n) => n.tensor)); // a damaged slot: nothing was changed, leak nothing
    throw error;
  }
  await optimizer.setWeights(named);
  const after = await optimizer.getWeights();
  const now = new Set(after.map((n) => n.tensor));
  for (const n of after) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  // setWeights() made new variables from our tensors; drop our handles and the replaced slot variables.
  for (const n of named) if (!now.has(n.tensor)) n.tensor.dispose();
  for (const t of old) if (!now.has(t) && !t.isDisposed) t.dispose();
  const record = optimizer as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(state.hidden ?? {})) {
    const target = record[key];
    if (target instanceof tf.Variable) {
      tf.tidy(() => target.assign(tf.scalar(value, target.dtype)));
    } else if (key === 'iterations') {
      record.iterations_ = value;
    }
  }
}
