/**
 * The TypeScript trainer SDK: everything a trainer process needs to speak protocol v1 (docs/protocol.md).
 * The trainer supplies `setup` / `train` / `capture` / `restore` (and optionally `evaluate`); the SDK reads
 * commands from stdin, runs them between batches (`ctx.checkpoint()`), holds the state of every position it
 * reports until the supervisor saves or releases it ('hold'), and writes frames to stdout (everything else
 * printed goes to stderr).
 *
 * @example
 *   await runTrainer({ name: 'my-trainer', version: '1.0.0', backend: 'cpu' }, {
 *     async setup(start) { ... }, async train(ctx) { ...; await ctx.epochEnd(e, step, metrics, ms); ... },
 *     async capture() { return state }, async restore(state) { ... },
 *   });
 */
import { writeFrameBytes } from './stdout-guard.js';
import { encodeFrame, FrameDecoder } from '../protocol/frames.js';
import { PROTOCOL_VERSION, SUPERVISOR_MESSAGE_TYPES } from '../protocol/messages.js';
import type { Done, Evaluate, Restore, Save, Start, SupervisorMessage, TrainConfig, TrainerMessage } from '../protocol/messages.js';
import { formatPosition, statePositionMatches, type TrainingPosition } from '../protocol/position.js';
import { allTensors, readStagedState } from '../protocol/staged.js';
import { weightsDigest } from '../store/digest.js';
import type { CaptureBuffer, CheckpointState } from '../checkpoint.js';
import type { Metrics } from '../events.js';
import { CaptureBuffers } from './capture-buffers.js';
import { DEFAULT_KEEP_EPOCH_STATES, DEFAULT_MAX_HELD, HeldStates } from './held-states.js';
import { StageWriter } from './stage-writer.js';
import { validateCommand } from './validate-command.js';

export { DEFAULT_KEEP_EPOCH_STATES, DEFAULT_MAX_HELD };

/** A 'stage' trainer stages states of at least this many tensor bytes (config `stageMinBytes` overrides). */
export const DEFAULT_STAGE_MIN_BYTES = 4 * 2 ** 20;

export interface TrainerInfo {
  name: string;
  version: string;
  backend: string;
  /** Defaults to what the handlers support: save, save-now, restore, stop, batch_end, hold, stage, and eval when `evaluate` exists. */
  capabilities?: string[];
  /** Batches per epoch, when known before training (sent in hello for the progress bar). */
  batchesPerEpoch?: number;
}

/** What a trainer's loop uses to report progress and to let commands in between batches. */
export interface TrainerContext {
  readonly config: TrainConfig;
  readonly seed: number;
  /**
   * Report a finished epoch. The SDK first snapshots the state (what a later `save` returns), then sends it; with
   * `maxHeld` states unreleased it waits for the supervisor before resolving. Await it.
   */
  epochEnd(epoch: number, step: number, metrics: Metrics, ms: number): Promise<void>;
  /** Report progress inside epoch `epoch` (the one in progress); like `epochEnd`, it holds the state there. Await it. */
  batchEnd(epoch: number, batch: number, step: number, metrics: Metrics): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Call between batches: runs queued save/restore/eval/release commands; resolves true when `stop` was received. */
  checkpoint(): Promise<boolean>;
}

/** `start` as a trainer's `setup` sees it: the state (if any) in memory, whatever transport carried it. */
export type TrainerStart = Omit<Start, 'state' | 'staging'> & { state?: CheckpointState };

export interface TrainerHandlers {
  /** Build the model and data for `start.config`; with `start.state`, continue exactly from it. */
  setup(start: TrainerStart): Promise<void>;
  /** Run the epoch loop to `config.epochs` (or until `ctx.checkpoint()` says stop); returns the position. */
  train(ctx: TrainerContext): Promise<{ epoch: number; step: number }>;
  /**
   * The full resumable state at the current position (a copy: later training must not change it). Copy each
   * tensor into `buffer(byteLength)` (every byte of it) to let the SDK reuse that memory once no one holds the
   * state (a big model's save then does not ask the OS for fresh memory); don't keep those buffers yourself.
   */
  capture(buffer: CaptureBuffer): Promise<CheckpointState>;
  /** Replace weights and optimizer state; the training position stays (early stopping's restore-best). */
  restore(state: CheckpointState): Promise<void>;
  evaluate?(state: CheckpointState, split: Evaluate['split']): Promise<Metrics>;
}

type Phase = 'idle' | 'setup' | 'training' | 'finished';

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
  private readonly capabilities: string[];
  private held = new HeldStates({ hold: false, maxHeld: DEFAULT_MAX_HELD, keep: DEFAULT_KEEP_EPOCH_STATES });
  /** The latest epoch-boundary state (the start state before the first epoch end), for `save` without a position. */
  private latest: CheckpointState | undefined;
  /** Wakes a loop that waits for the supervisor (backpressure) when a command arrives. */
  private wake: (() => void) | undefined;
  private draining: Promise<void> = Promise.resolve();
  /** Writes staged states when the supervisor gave a staging directory (capability 'stage'). */
  private stager: StageWriter | undefined;
  /** States with fewer tensor bytes are answered in the frame even when staging was offered (config stageMinBytes). */
  private stageMinBytes = DEFAULT_STAGE_MIN_BYTES;
  /** Memory for captures, reused once their states are not held, lent or being answered. */
  private readonly buffers = new CaptureBuffers();
  /** States a `save` is answering right now. */
  private readonly answering = new Set<CheckpointState>();
  private stdinEnded = false;
  private finished!: () => void;
  private readonly closed = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(private readonly info: TrainerInfo, private readonly handlers: TrainerHandlers) {
    this.capabilities = info.capabilities ?? ['save', 'save-now', 'restore', 'stop', 'batch_end', 'hold', 'stage', ...(handlers.evaluate ? ['eval'] : [])];
  }

  async serve(): Promise<void> {
    const { name, version, backend, batchesPerEpoch } = this.info;
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, trainer: name, version, backend, capabilities: this.capabilities, ...(batchesPerEpoch ? { batchesPerEpoch } : {}) });
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
      this.wake?.();
    });
    process.stdin.on('end', () => {
      // The supervisor is gone: nobody waits for replies any more.
      this.stdinEnded = true;
      void this.exit(0);
    });
    await this.closed;
  }

  private receive(message: SupervisorMessage): void {
    const problem = validateCommand(message);
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
        // save, release, restore, eval: in order, between batches (a release never overtakes the save before it).
        this.queue.push(message);
        if (this.phase !== 'training' && this.phase !== 'setup') void this.drain();
    }
  }

  private async train(message: Start): Promise<void> {
    try {
      const { staging, state, ...start } = message;
      await this.handlers.setup({ ...start, ...(state ? { state: await readStagedState(state) } : {}) });
      const { maxHeld, keepEpochStates, stageMinBytes } = start.config;
      this.held = new HeldStates({
        hold: this.capabilities.includes('hold'),
        maxHeld: positiveOr(maxHeld, DEFAULT_MAX_HELD),
        keep: positiveOr(keepEpochStates, DEFAULT_KEEP_EPOCH_STATES),
      });
      if (staging && this.capabilities.includes('stage')) this.stager = new StageWriter(staging.dir, this.held.options.maxHeld);
      this.stageMinBytes = typeof stageMinBytes === 'number' && stageMinBytes >= 0 ? stageMinBytes : DEFAULT_STAGE_MIN_BYTES;
      this.latest = await this.capture();
      this.phase = 'training';
      const end = await this.handlers.train(this.context(start));
      this.finishLoop(end.epoch, end.step, this.stopRequested ? 'stopped' : 'done', await this.capture());
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
        const state = await this.capture();
        this.latest = state;
        this.held.add({ epoch, step }, 'epoch', state);
        this.send({ type: 'epoch_end', epoch, step, metrics, ms });
        await this.waitForRoom();
      },
      batchEnd: async (epoch, batch, step, metrics) => {
        if (this.held.options.hold) this.held.add({ epoch, step }, 'batch', await this.capture());
        this.send({ type: 'batch_end', epoch, batch, step, metrics });
        await this.waitForRoom();
      },
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

  /** Backpressure: while `maxHeld` states are unreleased, serve commands instead of training on. */
  private async waitForRoom(): Promise<void> {
    while (this.held.full && !this.stopRequested) {
      if (this.queue.length) { await this.drain(); continue; }
      if (this.exitRequested) return this.exit(0);
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
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
      else if (message.type === 'release') this.held.release(message);
      else if (message.type === 'restore') await this.restore(message);
      else if (message.type === 'eval') await this.evaluate(message);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      this.send({ type: 'error', code: e.code ?? 'TRAINER_COMMAND_FAILED', message: `${message.type} failed: ${e.message ?? String(error)}`, ...requestIdOf(message) });
    }
  }

  private async save(message: Save): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'setup' || !this.latest) {
      throw Object.assign(new Error('no state yet: send start first'), { code: 'PROTOCOL_NOT_STARTED' });
    }
    let state: CheckpointState | undefined;
    if (message.at === 'now') state = await this.capture();
    else if (message.epoch != null && message.step != null) state = await this.stateAt({ epoch: message.epoch, step: message.step });
    else if (message.epoch != null) state = this.held.ofEpoch(message.epoch) ?? (this.latest.trainer.epoch === message.epoch ? this.latest : undefined);
    else state = this.latest;
    if (!state) {
      const at = message.step != null ? formatPosition({ epoch: message.epoch!, step: message.step }) : `epoch ${message.epoch}`;
      throw Object.assign(new Error(`the state of ${at} is no longer held (${this.held.whyGone()})`), { code: 'PROTOCOL_STATE_GONE' });
    }
    const { requestId } = message;
    // A small state is cheaper in the frame than through a thread and a file per tensor.
    if (!this.stager || stateBytes(state) < this.stageMinBytes) return this.send({ type: 'state', requestId, state });
    // The files are written while training goes on; the reply follows when they are complete.
    this.answering.add(state);
    try {
      await this.stager.submit(state, (staged) => this.send({ type: 'state', requestId, state: staged }), (error) => {
        this.send({ type: 'error', code: error.code, message: `save failed: ${error.message}`, requestId });
      });
    } finally {
      this.answering.delete(state);
    }
  }

  /** The trainer's capture, into buffers freed from states no one holds any more. */
  private async capture(): Promise<CheckpointState> {
    this.buffers.sweep((s) => s === this.latest || this.held.has(s) || this.answering.has(s) || this.stager?.lends(s) === true);
    const state = await this.handlers.capture((byteLength) => this.buffers.take(byteLength));
    this.buffers.track(state);
    return state;
  }

  /** Exactly the state of a reported position: held, or (not held any more) the current state if training has not moved since. */
  private async stateAt(position: TrainingPosition): Promise<CheckpointState | undefined> {
    const held = this.held.get(position);
    if (held) return held;
    if (statePositionMatches(this.latest!.trainer, position)) return this.latest;
    const now = await this.capture();
    return statePositionMatches(now.trainer, position) ? now : undefined;
  }

  private async restore(message: Restore): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'setup') {
      throw Object.assign(new Error('restore before start; pass the state in start instead'), { code: 'PROTOCOL_NOT_STARTED' });
    }
    await this.handlers.restore(await readStagedState(message.state));
  }

  private async evaluate(message: Evaluate): Promise<void> {
    if (!this.handlers.evaluate) throw Object.assign(new Error('this trainer cannot evaluate'), { code: 'PROTOCOL_UNSUPPORTED' });
    const metrics = await this.handlers.evaluate(await readStagedState(message.state), message.split);
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
    // Saves being staged still reply, unless the supervisor is gone (or this is a failure).
    if (this.stager && code === 0 && !this.stdinEnded) await this.stager.settled();
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

function stateBytes(state: CheckpointState): number {
  let bytes = 0;
  for (const t of allTensors(state)) bytes += t.data.byteLength;
  return bytes;
}

function positiveOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : fallback;
}
