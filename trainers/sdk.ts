/**
 * The TypeScript trainer SDK: everything a trainer process needs to speak protocol v1 (docs/protocol.md).
 * The trainer supplies `setup` / `train` / `capture` / `restore` (and optionally `evaluate`); the SDK reads
 * commands from stdin, runs them between batches (`ctx.checkpoint()`), keeps the state of the last epoch
 * boundary for `save`, and writes frames to stdout (everything else printed goes to stderr).
 *
 * @example
 *   await runTrainer({ name: 'my-trainer', version: '1.0.0', backend: 'cpu' }, {
 *     async setup(start) { ... }, async train(ctx) { ...; await ctx.epochEnd(e, step, metrics, ms); ... },
 *     async capture() { return state }, async restore(state) { ... },
 *   });
 */
import { writeFrameBytes } from './lib/stdout-guard.js';
import { encodeFrame, FrameDecoder } from '../src/protocol/frames.js';
import { PROTOCOL_VERSION, SUPERVISOR_MESSAGE_TYPES } from '../src/protocol/messages.js';
import type { Done, Evaluate, Restore, Save, Start, SupervisorMessage, TrainConfig, TrainerMessage } from '../src/protocol/messages.js';
import { weightsDigest } from '../src/store/digest.js';
import type { CheckpointState } from '../src/checkpoint.js';
import type { Metrics } from '../src/events.js';

export interface TrainerInfo {
  name: string;
  version: string;
  backend: string;
  /** Defaults to what the handlers support: save, restore, stop, batch_end, and eval when `evaluate` exists. */
  capabilities?: string[];
}

/** What a trainer's loop uses to report progress and to let commands in between batches. */
export interface TrainerContext {
  readonly config: TrainConfig;
  readonly seed: number;
  /** Report a finished epoch. The SDK first snapshots the state (what a later `save` returns), then sends it. */
  epochEnd(epoch: number, step: number, metrics: Metrics, ms: number): Promise<void>;
  batchEnd(epoch: number, batch: number, step: number, metrics: Metrics): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Call between batches: runs queued save/restore/eval commands; resolves true when `stop` was received. */
  checkpoint(): Promise<boolean>;
}

export interface TrainerHandlers {
  /** Build the model and data for `start.config`; with `start.state`, continue exactly from it. */
  setup(start: Start): Promise<void>;
  /** Run the epoch loop to `config.epochs` (or until `ctx.checkpoint()` says stop); returns the position. */
  train(ctx: TrainerContext): Promise<{ epoch: number; step: number }>;
  /** The full resumable state at the current position (a copy: later training must not change it). */
  capture(): Promise<CheckpointState>;
  /** Replace weights and optimizer state; the training position stays (early stopping's restore-best). */
  restore(state: CheckpointState): Promise<void>;
  evaluate?(state: CheckpointState, split: Evaluate['split']): Promise<Metrics>;
}

type Phase = 'idle' | 'setup' | 'training' | 'finished';

/** How many epoch-boundary states a trainer keeps for `save {epoch}` (config `keepEpochStates` overrides). */
export const DEFAULT_KEEP_EPOCH_STATES = 4;

/**
 * Serve the protocol on stdin/stdout until `exit` or stdin closes. Sends `hello` at once.
 * @example await runTrainer({ name: 'mnist-mlp', version: '0.1.0', backend }, createTfjsTrainer(...))
 */
export async function runTrainer(info: TrainerInfo, handlers: TrainerHandlers): Promise<void> {
  const session = new TrainerSession(info, handlers);
  await session.serve();
}

class TrainerSession {
  private phase: Phase = 'idle';
  private queue: SupervisorMessage[] = [];
  private stopRequested = false;
  private exitRequested = false;
  /** States at the latest epoch boundaries, by epoch (newest last), for `save {at: 'epoch'}`. */
  private boundaries = new Map<number, CheckpointState>();
  private keepBoundaries = DEFAULT_KEEP_EPOCH_STATES;
  private draining: Promise<void> = Promise.resolve();
  private finished!: () => void;
  private readonly closed = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(private readonly info: TrainerInfo, private readonly handlers: TrainerHandlers) {}

  async serve(): Promise<void> {
    const capabilities = this.info.capabilities ?? ['save', 'save-now', 'restore', 'stop', 'batch_end', ...(this.handlers.evaluate ? ['eval'] : [])];
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, trainer: this.info.name, version: this.info.version, backend: this.info.backend, capabilities });
    const decoder = new FrameDecoder({ accept: SUPERVISOR_MESSAGE_TYPES });
    process.stdin.on('data', (chunk: Buffer) => {
      let messages: SupervisorMessage[];
      try {
        messages = decoder.push(chunk) as unknown as SupervisorMessage[];
      } catch (error) {
        // The byte stream cannot be trusted past a bad frame: report and leave.
        this.fail(error, 2);
        return;
      }
      for (const m of messages) this.receive(m);
    });
    process.stdin.on('end', () => void this.exit(0));
    await this.closed;
  }

  private receive(message: SupervisorMessage): void {
    const problem = validate(message);
    if (problem) {
      this.send({ type: 'error', code: 'PROTOCOL_BAD_MESSAGE', message: problem, ...requestIdOf(message) });
      return;
    }
    switch (message.type) {
      case 'start':
        if (this.phase !== 'idle') {
          this.send({ type: 'error', code: 'PROTOCOL_BAD_SEQUENCE', message: 'start was already received; spawn a new trainer to train again' });
        } else {
          this.phase = 'setup';
          void this.train(message);
        }
        return;
      case 'stop':
        this.stopRequested = true;
        if (this.phase === 'idle') this.finishLoop(0, 0, 'stopped');
        return;
      case 'exit':
        // While training, leave at the next batch boundary (after the queued commands), not in the middle of a capture.
        this.exitRequested = true;
        if (this.phase !== 'training' && this.phase !== 'setup') void this.drain().then(() => this.exit(0));
        return;
      default:
        this.queue.push(message);
        if (this.phase !== 'training' && this.phase !== 'setup') void this.drain();
    }
  }

  private async train(start: Start): Promise<void> {
    try {
      await this.handlers.setup(start);
      const keep = start.config.keepEpochStates;
      if (typeof keep === 'number' && Number.isInteger(keep) && keep >= 1) this.keepBoundaries = keep;
      this.remember(await this.handlers.capture());
      this.phase = 'training';
      const ctx = this.context(start);
      const end = await this.handlers.train(ctx);
      this.finishLoop(end.epoch, end.step, this.stopRequested ? 'stopped' : 'done', await this.handlers.capture());
      await this.drain();
    } catch (error) {
      this.fail(error, 1);
    }
  }

  private finishLoop(epoch: number, step: number, reason: Done['reason'], finalState?: CheckpointState): void {
    this.phase = 'finished';
    const digest = finalState ? { weightsDigest: weightsDigest(finalState) } : {};
    this.send({ type: 'done', epoch, step, reason, ...digest });
  }

  private context(start: Start): TrainerContext {
    return {
      config: start.config,
      seed: start.seed,
      epochEnd: async (epoch, step, metrics, ms) => {
        this.remember(await this.handlers.capture());
        this.send({ type: 'epoch_end', epoch, step, metrics, ms });
      },
      batchEnd: (epoch, batch, step, metrics) => this.send({ type: 'batch_end', epoch, batch, step, metrics }),
      log: (level, message) => this.send({ type: 'log', level, message }),
      checkpoint: async () => {
        // Let stdin's 'data' events run, then carry out whatever they queued, in order.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.queue.length) await this.drain();
        if (this.exitRequested) await this.exit(0);
        return this.stopRequested;
      },
    };
  }

  /** Run queued commands one at a time (never two captures or restores at once). */
  private drain(): Promise<void> {
    this.draining = this.draining.then(async () => {
      while (this.queue.length) await this.execute(this.queue.shift()!);
    });
    return this.draining;
  }

  private async execute(message: SupervisorMessage): Promise<void> {
    try {
      if (message.type === 'save') await this.save(message);
      else if (message.type === 'restore') await this.restore(message);
      else if (message.type === 'eval') await this.evaluate(message);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      this.send({ type: 'error', code: e.code ?? 'TRAINER_COMMAND_FAILED', message: `${message.type} failed: ${e.message ?? String(error)}`, ...requestIdOf(message) });
    }
  }

  private async save(message: Save): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'setup' || this.boundaries.size === 0) {
      throw Object.assign(new Error('no state yet: send start first'), { code: 'PROTOCOL_NOT_STARTED' });
    }
    let state: CheckpointState | undefined;
    if (message.at === 'now') state = await this.handlers.capture();
    else if (message.epoch !== undefined) state = this.boundaries.get(message.epoch);
    else state = [...this.boundaries.values()].pop();
    if (!state) {
      const held = [...this.boundaries.keys()].join(', ');
      throw Object.assign(new Error(`the state of epoch ${message.epoch} is no longer held (held: ${held}); save a later epoch or raise config.keepEpochStates`), { code: 'PROTOCOL_STATE_GONE' });
    }
    this.send({ type: 'state', requestId: message.requestId, state });
  }

  private remember(state: CheckpointState): void {
    const epoch = state.trainer.epoch;
    this.boundaries.delete(epoch);
    this.boundaries.set(epoch, state);
    while (this.boundaries.size > this.keepBoundaries) this.boundaries.delete(this.boundaries.keys().next().value!);
  }

  private async restore(message: Restore): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'setup') {
      throw Object.assign(new Error('restore before start; pass the state in start instead'), { code: 'PROTOCOL_NOT_STARTED' });
    }
    await this.handlers.restore(message.state);
  }

  private async evaluate(message: Evaluate): Promise<void> {
    if (!this.handlers.evaluate) throw Object.assign(new Error('this trainer cannot evaluate'), { code: 'PROTOCOL_UNSUPPORTED' });
    const metrics = await this.handlers.evaluate(message.state, message.split);
    this.send({ type: 'eval_result', requestId: message.requestId, metrics });
  }

  private send(message: TrainerMessage): void {
    void writeFrameBytes(encodeFrame(message as unknown as { type: string } & Record<string, unknown>)).catch(() => this.exit(1));
  }

  private fail(error: unknown, exitCode: number): void {
    const e = error as { code?: string; message?: string; stack?: string };
    // A coded error is a known problem with a message that says what to do; only a bug deserves its stack.
    const text = e.code ? `${e.code}: ${e.message}` : e.stack ?? e.message ?? String(error);
    process.stderr.write(`${this.info.name}: ${text}\n`);
    this.send({ type: 'error', code: e.code ?? 'TRAINER_FAILED', message: e.message ?? String(error) });
    void this.exit(exitCode);
  }

  private async exit(code: number): Promise<void> {
    // An empty write resolves after everything queued before it reached the OS.
    await writeFrameBytes(new Uint8Array(0)).catch(() => undefined);
    this.finished();
    process.exit(code);
  }
}

function requestIdOf(message: unknown): { requestId?: string } {
  const id = (message as { requestId?: unknown }).requestId;
  return typeof id === 'string' ? { requestId: id } : {};
}

/** A one-line problem with a command's fields, or undefined when it is well-formed. */
function validate(m: SupervisorMessage): string | undefined {
  const isState = (s: unknown) => typeof s === 'object' && s !== null && typeof (s as CheckpointState).objects === 'object' && typeof (s as CheckpointState).trainer === 'object';
  switch (m.type) {
    case 'start': {
      const c = m.config as Partial<TrainConfig> | undefined;
      if (typeof c !== 'object' || c === null) return 'start.config must be a map';
      if (typeof m.seed !== 'number' || !Number.isFinite(m.seed)) return 'start.seed must be a number';
      if (c.epochs !== undefined && (!Number.isInteger(c.epochs) || c.epochs < 0)) return 'start.config.epochs must be a non-negative integer';
      if (c.batchSize !== undefined && (!Number.isInteger(c.batchSize) || c.batchSize < 1)) return 'start.config.batchSize must be a positive integer';
      if (m.state !== undefined && m.state !== null && !isState(m.state)) return 'start.state must be a checkpoint state {objects, trainer, history}';
      return undefined;
    }
    case 'save':
      if (typeof m.requestId !== 'string') return 'save.requestId must be a string';
      if (m.at !== undefined && m.at !== 'epoch' && m.at !== 'now') return 'save.at must be "epoch" or "now"';
      if (m.epoch !== undefined && m.epoch !== null && !Number.isInteger(m.epoch)) return 'save.epoch must be an integer';
      return undefined;
    case 'restore':
      return isState(m.state) ? undefined : 'restore.state must be a checkpoint state {objects, trainer, history}';
    case 'eval':
      if (typeof m.requestId !== 'string') return 'eval.requestId must be a string';
      if (!isState(m.state)) return 'eval.state must be a checkpoint state {objects, trainer, history}';
      return ['test', 'validation', 'train'].includes(m.split) ? undefined : 'eval.split must be test, validation or train';
    default:
      return undefined;
  }
}
