/**
 * The trainer protocol, version 1 (docs/protocol.md is the prose contract). A trainer is any executable that
 * writes length-prefixed msgpack frames to stdout and reads them from stdin. Every message is a msgpack map
 * with a string `type`. Tensors travel as raw little-endian bytes (msgpack bin) with dtype and shape.
 */
import type { WireState } from '../checkpoint.js';
import type { Metrics } from '../events.js';

export const PROTOCOL_VERSION = 1;

// ── trainer → supervisor ───────────────────────────────────────────────────────────────────────────
/**
 * What a trainer can do, announced in `hello.capabilities`. `hold`: the trainer keeps the state of every position
 * it reports (each `epoch_end`, each `batch_end` it sends) until the supervisor sends `release` past it, and waits
 * before training on while it holds `config.maxHeld` unreleased states (see docs/protocol.md, "Hold and release").
 * `stage`: tensor bytes may travel as files in the store's file system instead of frames (`start.staging`; see
 * docs/protocol.md, "Staged tensors").
 */
export const TRAINER_CAPABILITIES = ['save', 'save-now', 'restore', 'stop', 'batch_end', 'eval', 'hold', 'stage'] as const;
export type TrainerCapability = (typeof TRAINER_CAPABILITIES)[number];

export interface Hello {
  type: 'hello'; protocol: number; trainer: string; version: string; backend: string;
  /** Known values: TRAINER_CAPABILITIES; unknown ones are ignored. An absent list reads as []. */
  capabilities: string[];
  /** Batches in one epoch, when the trainer knows it before training (the progress bar's length). */
  batchesPerEpoch?: number;
}
export interface EpochEnd { type: 'epoch_end'; epoch: number; step: number; metrics: Metrics; ms: number }
export interface BatchEnd { type: 'batch_end'; epoch: number; batch: number; step: number; metrics: Metrics }
/** Reply to `save`: the full resumable state (tensors staged as files when `start.staging` was given). */
export interface StateReply { type: 'state'; requestId: string; state: WireState }
export interface EvalResult { type: 'eval_result'; requestId: string; metrics: Metrics }
export interface Log { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
/** The loop ended (all epochs, or after `stop`); the trainer keeps serving `save` until stdin closes or `exit`. */
export interface Done {
  type: 'done'; epoch: number; step: number; reason: 'done' | 'stopped';
  /** weightsDigest (src/store/digest.ts) of the final weights, when the trainer computes it. */
  weightsDigest?: string;
}
/** The trainer could not carry out a command. */
export interface TrainerErrorMessage { type: 'error'; code: string; message: string; requestId?: string }

export type TrainerMessage = Hello | EpochEnd | BatchEnd | StateReply | EvalResult | Log | Done | TrainerErrorMessage;

// ── supervisor → trainer ───────────────────────────────────────────────────────────────────────────
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** How often (in batches) to send `batch_end`; 0 = never. */
  batchEvery?: number;
  /** A 'hold' trainer waits before training on while it holds this many unreleased states (default 2). */
  maxHeld?: number;
  /** A trainer without 'hold' keeps the states of this many latest epoch ends (default 4). */
  keepEpochStates?: number;
  /** A 'stage' trainer (TypeScript SDK) stages a state whose tensors total at least this many bytes (default 4 MiB); smaller ones travel in the frame. */
  stageMinBytes?: number;
  [key: string]: unknown;
}
/** Begin training; with `state`, continue exactly from it (weights, optimizer, epoch, step, RNG, cursor). */
export interface Start {
  type: 'start'; config: TrainConfig; seed: number; state?: WireState;
  /** To a 'stage' trainer with a local store: the directory its staged tensor files go into. */
  staging?: { dir: string };
}
/**
 * Ask for the state. With `epoch` and `step`: exactly the state of that reported position (an `epoch_end` or a
 * `batch_end` the trainer sent), else error PROTOCOL_STATE_GONE — never another position's. With `epoch` only
 * (older supervisors): the state of that epoch's `epoch_end`. Neither: the latest epoch end (the start state
 * before the first one). `at: 'now'` captures the current position (mid-epoch, with RNG and data cursor).
 * So a save decided on epoch N's metrics holds epoch N's weights even though training has moved on.
 */
export interface Save { type: 'save'; requestId: string; at?: 'epoch' | 'now'; epoch?: number; step?: number }
/**
 * Cumulative: every state a 'hold' trainer holds at a position ≤ (epoch, step) may be dropped (positions compare
 * by epoch, then step). Sent only to trainers whose hello lists 'hold'.
 */
export interface Release { type: 'release'; epoch: number; step: number }
/** Finish the current batch, then send `done {reason: 'stopped'}`. */
export interface Stop { type: 'stop'; reason: string }
/** Replace weights and optimizer state (early stopping's restore-best); training position is unchanged. */
export interface Restore { type: 'restore'; state: WireState }
/** Evaluate the given state on a data split without training (used by `ckpt eval`). */
export interface Evaluate { type: 'eval'; requestId: string; state: WireState; split: 'test' | 'validation' | 'train' }
/** Exit now (after `done`). */
export interface Exit { type: 'exit' }

export type SupervisorMessage = Start | Save | Release | Stop | Restore | Evaluate | Exit;

export type Message = TrainerMessage | SupervisorMessage;

export const TRAINER_MESSAGE_TYPES = ['hello', 'epoch_end', 'batch_end', 'state', 'eval_result', 'log', 'done', 'error'] as const;
export const SUPERVISOR_MESSAGE_TYPES = ['start', 'save', 'release', 'stop', 'restore', 'eval', 'exit'] as const;
