/**
 * The in-memory shape of one checkpoint's content: what a trainer hands over in its `state` reply
 * (docs/protocol.md), what the store commits and what a load returns. Tensors are raw little-endian bytes.
 */
import type { Metrics } from './events.js';

/** dtypes tfjs knows, plus the usual ones other trainers send. */
export type DType =
  | 'float32' | 'int32' | 'bool' | 'complex64' | 'string'
  | 'float16' | 'float64' | 'int8' | 'int16' | 'int64' | 'uint8' | 'uint16' | 'uint32';

export interface TensorData {
  name: string;
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes (for `string` tensors: the tfjs encoding, u32 length + bytes per element). */
  data: Uint8Array;
}

/**
 * A tensor whose bytes are a file instead of memory (protocol capability `stage`, docs/protocol.md): from a
 * trainer, `file` names a file in the session's staging directory (made absolute by the supervisor before the
 * store adopts it); to a trainer, `file` is the absolute path of a verified blob. `bytes` is the file's length.
 */
export interface StagedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  file: string;
  bytes: number;
  /** Hex sha256 of the bytes: always from the supervisor, optional from a trainer (the store checks it when given). */
  sha256?: string;
}

/** A tensor as the protocol carries it: in memory or staged. */
export type WireTensor = TensorData | StagedTensor;

/** True when the tensor's bytes are a staged file. @example isStaged({ name, dtype, shape, file, bytes }) // true */
export function isStaged(tensor: WireTensor): tensor is StagedTensor {
  return (tensor as Partial<TensorData>).data === undefined && typeof (tensor as Partial<StagedTensor>).file === 'string';
}

export interface OptimizerState<T extends WireTensor = TensorData> {
  /** e.g. `Adam`, with its tfjs config (learningRate, beta1, ...). */
  className: string;
  config: Record<string, unknown>;
  /** Slot variables (Adam's moments, iteration counter, ...) in the order the optimizer reports them. */
  slots: T[];
  /** State not visible through getWeights(), needed for bit-exact resume (Adam: accBeta1, accBeta2). */
  hidden: Record<string, number>;
}

/** One named trackable object: a model, a GAN's generator, its discriminator, ... */
export interface ObjectState<T extends WireTensor = TensorData> {
  /** tfjs model topology JSON, or opaque bytes from another framework. */
  topology?: unknown;
  weights: T[];
  optimizer?: OptimizerState<T>;
}

export interface TrainerState {
  epoch: number;
  step: number;
  /** Serializable RNG state (e.g. the seeded shuffle generator's internal words). */
  rng?: unknown;
  /** Where in the data the next batch starts (for mid-epoch saves). */
  cursor?: unknown;
  [key: string]: unknown;
}

export interface HistoryEntry { epoch: number; metrics: Metrics }

export interface CheckpointState<T extends WireTensor = TensorData> {
  /** Keyed by object name; a plain model uses `model`. */
  objects: Record<string, ObjectState<T>>;
  trainer: TrainerState;
  history: HistoryEntry[];
}

/** A state as the protocol carries it: any tensor may be staged (capability `stage`). */
export type WireState = CheckpointState<WireTensor>;

/**
 * Where a capture copies a tensor's bytes: a buffer of exactly `byteLength` bytes (the SDK's reused capture
 * memory, which may hold old bytes: fill all of it).
 */
export type CaptureBuffer = (byteLength: number) => Uint8Array;
