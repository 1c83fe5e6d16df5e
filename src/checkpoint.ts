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

export interface OptimizerState {
  /** e.g. `Adam`, with its tfjs config (learningRate, beta1, ...). */
  className: string;
  config: Record<string, unknown>;
  /** Slot variables (Adam's moments, iteration counter, ...) in the order the optimizer reports them. */
  slots: TensorData[];
  /** State not visible through getWeights(), needed for bit-exact resume (Adam: accBeta1, accBeta2). */
  hidden: Record<string, number>;
}

/** One named trackable object: a model, a GAN's generator, its discriminator, ... */
export interface ObjectState {
  /** tfjs model topology JSON, or opaque bytes from another framework. */
  topology?: unknown;
  weights: TensorData[];
  optimizer?: OptimizerState;
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

export interface CheckpointState {
  /** Keyed by object name; a plain model uses `model`. */
  objects: Record<string, ObjectState>;
  trainer: TrainerState;
  history: HistoryEntry[];
}
