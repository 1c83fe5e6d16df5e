/**
 * What a supervised session is given and what it resolves with. Its own file so that the session and the
 * pieces it is built from (trainer driver, trainer end) share the types without importing each other.
 */
import type { EventInput, Ledger } from '../../ledger/types.js';
import type { WireState } from '../checkpoint.js';
import type { Hello, TrainConfig } from '../protocol/messages.js';
import type { TensorTransport } from '../events.js';
import type { RunPolicy, RunStore } from './ports.js';
import type { RunProgress } from './progress.js';
import type { SaveQueue } from './save-queue.js';

export interface SessionContext {
  run: string;
  trainerName: string;
  ledger: Ledger;
  store: RunStore;
  policy: RunPolicy;
  progress: RunProgress;
  saves: SaveQueue;
  /** How long to wait for `hello`, a `state` reply, and the exit after `exit`. */
  timeouts: { helloMs: number; stateMs: number; exitMs: number };
  /**
   * Called with the trainer's hello, before `start` is sent: the events to record (RunStarted/RunResumed) and
   * the line to print once they are durable.
   */
  onHello(hello: Hello, tensors: TensorTransport): { events: EventInput[]; line: string };
}

/** `state`: the checkpoint to resume from, and its id (so a stop right away saves it again as the same one). */
export type SessionStart = { config: TrainConfig; seed: number; state?: WireState; checkpoint?: string };

export type SessionOutcome =
  | { kind: 'finished'; epoch: number; step: number; weightsDigest: string | null; failedSaves: number }
  | { kind: 'stopped'; signal: NodeJS.Signals; epoch: number; step: number }
  | {
    kind: 'crashed'; reason: string; code?: string; exitCode: number | null; signal: NodeJS.Signals | null;
    /** True when the trainer never said hello: restarting it would fail the same way. */
    beforeHello: boolean;
  };
