/**
 * One trainer process under supervision, from hello to exit: its messages become an RxJS stream that is
 * funnelled (in order, one at a time) through ledger appends, the policy and the decisions' effects. Saves
 * are written in the background by the save queue while the trainer keeps training.
 *
 * The session never decides about restarts: it resolves with how the trainer ended, and `train()` acts on it.
 *
 * @example
 *   const session = new RunSession(context, trainer);
 *   const outcome = await session.run({ kind: 'fresh', config, seed });
 */
import { concatMap, filter, from, lastValueFrom, tap } from 'rxjs';
import type { EventInput, Ledger, LedgerEvent } from '../../ledger/types.js';
import type { CheckpointState } from '../checkpoint.js';
import { CkptError, hasCode } from '../errors.js';
import { isBlobHash } from '../store/hash.js';
import type { Decision, Metrics } from '../events.js';
import type { Hello, TrainConfig, TrainerMessage } from '../protocol/messages.js';
import type { RunPolicy, RunStore } from './ports.js';
import type { RunProgress } from './progress.js';
import { appendAndRead } from './append-events.js';
import { DecisionEffects } from './decision-effects.js';
import type { SaveQueue } from './save-queue.js';
import { SerialQueue } from './serial-queue.js';
import { StateRequests } from './state-requests.js';
import type { TrainerOutput, TrainerProcess } from './trainer-process.js';

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
  onHello(hello: Hello): { events: EventInput[]; line: string };
}

export type SessionStart = { config: TrainConfig; seed: number; state?: CheckpointState };

export type SessionOutcome =
  | { kind: 'finished'; epoch: number; step: number; weightsDigest: string | null }
  | { kind: 'stopped'; signal: NodeJS.Signals; epoch: number; step: number }
  | { kind: 'crashed'; reason: string; code?: string; exitCode: number | null; signal: NodeJS.Signals | null };

export class RunSession {
  private readonly serial = new SerialQueue();
  private readonly requests: StateRequests;
  private hello: Hello | null = null;
  private position = { epoch: 0, step: 0 };
  private lastMetrics: Metrics = {};
  private stopDecided = false;
  private doneSeen = false;
  /** The trainer's `done.weightsDigest`, when it sent a well-formed one. */
  private doneDigest: string | null = null;
  private ending = false;
  /** Set once the trainer was asked to exit: its exit is expected, not a crash. */
  private trainerExit: Promise<void> | null = null;
  private faultCode: string | undefined;
  private faultMessage: string | undefined;
  private settle!: (outcome: SessionOutcome) => void;
  private settled = false;
  private readonly outcome: Promise<SessionOutcome>;

  private readonly effects: DecisionEffects;

  constructor(private readonly ctx: SessionContext, private readonly trainer: TrainerProcess) {
    this.requests = new StateRequests(trainer, ctx.timeouts.stateMs);
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.effects = new DecisionEffects(ctx, trainer, this.requests, {
      serial: this.serial,
      background: (work) => this.background(work),
      settled: () => this.settled,
      position: () => this.position,
      lastMetrics: () => this.lastMetrics,
      backend: () => this.hello?.backend ?? 'unknown',
      onStop: () => { this.stopDecided = true; },
    });
  }

  /** True once the trainer said hello (and so RunStarted/RunResumed was recorded). */
  get helloSeen(): boolean {
    return this.hello !== null;
  }

  /** A second Ctrl-C: stop waiting for the trainer. */
  forceEnd(): void {
    this.trainer.kill('SIGKILL');
  }

  /** Current training position (last epoch_end / done seen). */
  get at(): { epoch: number; step: number } {
    return { ...this.position };
  }

  /** Drive the trainer until it ends; resolves with how it ended. */
  async run(start: SessionStart): Promise<SessionOutcome> {
    const helloTimer = setTimeout(() => {
      if (!this.hello) this.crash('PROTOCOL_NO_HELLO', `trainer sent no hello within ${this.ctx.timeouts.helloMs} ms; check that it speaks protocol v1 on stdout`);
    }, this.ctx.timeouts.helloMs);
    const pipeline = this.trainer.output$.pipe(
      // State replies bypass the serial queue: a handler may be waiting for one.
      filter((item) => !(item.kind === 'message' && this.requests.offer(item.message))),
      // Every frame was delivered before `exit`: nobody can get a reply any more, even a job waiting for one.
      tap((item) => { if (item.kind === 'exit') this.requests.rejectAll(new CkptError('PROTOCOL_TRAINER_EXITED', `trainer exited (${item.signal ?? `code ${item.code}`}) before replying`)); }),
      concatMap((item) => from(this.serial.run(() => this.handle(item, start)))),
    );
    const done = lastValueFrom(pipeline, { defaultValue: undefined }).catch((error) => this.fail(error));
    const outcome = await this.outcome;
    clearTimeout(helloTimer);
    await done.catch(() => {});
    return outcome;
  }

  /**
   * SIGINT/SIGTERM: ask the trainer for a final checkpoint, commit it, record RunStopped, then end the trainer.
   * @example process.once('SIGINT', () => session.interrupt('SIGINT'))
   */
  interrupt(signal: NodeJS.Signals): Promise<void> {
    return this.serial.run(async () => {
      // Once the trainer was let go at done, training is complete and its saves are committing: the run finishes.
      if (this.settled || this.ending || this.trainerExit !== null) return;
      this.ending = true;
      const run = this.ctx.run;
      if (this.hello && this.trainer.running) {
        const decision: Decision = {
          kind: 'save', causeSeq: this.ctx.ledger.lastSeq, rule: 'interrupt', run, epoch: this.position.epoch, step: this.position.step,
          reason: `${signal}: saving a final checkpoint before stopping`, labels: ['interrupted'],
        };
        const [stored] = await this.effects.appendDecisions([decision]);
        try {
          await this.effects.save(decision, stored.seq, { wait: true });
        } catch (error) {
          this.ctx.progress.line(`could not save a final checkpoint: ${(error as Error).message}`);
        }
      }
      await this.ctx.saves.drain();
      await this.ctx.ledger.append([{ stream: run, type: 'RunStopped', data: { run, reason: `interrupted by ${signal}`, signal } }], { durable: true });
      this.ctx.progress.line(`${run} stopped by ${signal} at epoch ${this.position.epoch}, step ${this.position.step}`);
      await this.endTrainer();
      this.finish({ kind: 'stopped', signal, ...this.position });
    });
  }

  private async handle(item: TrainerOutput, start: SessionStart): Promise<void> {
    if (this.settled) return;
    switch (item.kind) {
      case 'stderr':
        await this.append([{ stream: this.ctx.run, type: 'TrainerLog', data: { run: this.ctx.run, source: 'stderr', level: 'info', line: item.line.slice(0, 4096) } }]);
        return;
      case 'fault':
        this.faultCode = item.error.code;
        this.faultMessage = item.error.message;
        await this.append([{ stream: this.ctx.run, type: 'ProtocolFault', data: { run: this.ctx.run, code: item.error.code, message: item.error.message } }], true);
        this.ctx.progress.line(`protocol fault: ${item.error.code}: ${item.error.message}`);
        return;
      case 'exit':
        return this.onExit(item.code, item.signal);
      case 'message':
        return this.onMessage(item.message, start);
    }
  }

  private async onMessage(message: TrainerMessage, start: SessionStart): Promise<void> {
    const run = this.ctx.run;
    if (message.type === 'hello') {
      if (this.hello) return this.protocolFault('PROTOCOL_UNEXPECTED', 'trainer sent a second hello');
      if (message.protocol !== 1) return this.protocolFault('PROTOCOL_VERSION', `trainer speaks protocol ${message.protocol}; this supervisor speaks 1`);
      this.hello = message;
      const batches = (message as unknown as { batchesPerEpoch?: unknown }).batchesPerEpoch;
      if (typeof batches === 'number') this.ctx.progress.setBatchesPerEpoch(batches);
      const started = this.ctx.onHello(message);
      // The trainer sets up (data, model) while RunStarted/RunResumed is made durable: the ledger applies appends
      // in call order, so nothing it reports can be recorded before that event, and a start that a crash leaves
      // unrecorded trained nothing that could be committed.
      const stored = this.append(started.events, true);
      if (start.state) this.position = { epoch: start.state.trainer.epoch, step: start.state.trainer.step };
      this.trainer.send({ type: 'start', config: start.config, seed: start.seed, ...(start.state ? { state: start.state } : {}) });
      const events = await stored;
      this.ctx.progress.line(started.line);
      for (const event of events) await this.effects.decide(event);
      return;
    }
    if (!this.hello) return this.protocolFault('PROTOCOL_NO_HELLO', `trainer sent "${message.type}" before hello; hello must be the first frame`);
    switch (message.type) {
      case 'batch_end': {
        this.ctx.progress.batch(message);
        const [event] = await this.append([{ stream: run, type: 'BatchEnded', data: { run, epoch: message.epoch, batch: message.batch, step: message.step, metrics: message.metrics } }]);
        await this.effects.decide(event);
        this.requests.release(message);
        return;
      }
      case 'epoch_end': {
        if (this.position.epoch === 0 && message.epoch === 1 && message.step > 0) this.ctx.progress.setBatchesPerEpoch(message.step);
        else if (message.epoch > this.position.epoch && this.position.step > 0) this.ctx.progress.setBatchesPerEpoch((message.step - this.position.step) / (message.epoch - this.position.epoch));
        this.position = { epoch: message.epoch, step: message.step };
        this.lastMetrics = message.metrics;
        this.ctx.progress.epoch(message);
        const [event] = await this.append([{ stream: run, type: 'EpochEnded', data: { run, epoch: message.epoch, step: message.step, metrics: message.metrics, ms: message.ms } }]);
        await this.effects.decide(event);
        this.requests.release(message);
        return;
      }
      case 'log': {
        const level = ['debug', 'info', 'warn', 'error'].includes(message.level) ? message.level : 'info';
        await this.append([{ stream: run, type: 'TrainerLog', data: { run, source: 'log', level, line: message.message.slice(0, 4096) } }]);
        return;
      }
      case 'error':
        await this.append([{ stream: run, type: 'TrainerLog', data: { run, source: 'log', level: 'error', line: `${message.code ?? 'ERROR'}: ${message.message}` } }]);
        return;
      case 'done':
        return this.onDone(message.epoch, message.step, message.reason, message.weightsDigest);
      default:
        return this.protocolFault('PROTOCOL_UNEXPECTED', `trainer sent "${message.type}" that nobody asked for`);
    }
  }

  private async onDone(epoch: number, step: number, reason: 'done' | 'stopped', weightsDigest: unknown): Promise<void> {
    if (this.doneSeen) return;
    this.doneSeen = true;
    this.doneDigest = isBlobHash(weightsDigest) ? weightsDigest : null;
    this.position = { epoch, step };
    const run = this.ctx.run;
    const endReason = reason === 'stopped' ? (this.stopDecided ? 'early-stop' : 'stopped') : 'done';
    const [event] = await this.append([{ stream: run, type: 'TrainingEnded', data: { run, epoch, step, reason: endReason } }], true);
    await this.effects.decide(event);
    // Every decided save has its state by now (a save waits for the trainer's reply; a trainer still running lost
    // none of them). When the final weights are known (done's digest) and the policy cannot decide a restore any
    // more, nothing else will be asked of the trainer: it exits now, while the last saves commit, not after them.
    const finalWeightsKnown = this.doneDigest !== null && this.effects.restoresSent === 0;
    if (this.trainer.running && finalWeightsKnown && !mayRestoreAfterTraining(this.ctx.policy.config)) void this.endTrainer();
    // Finishing waits for every background save and the decisions they cause; those run on the serial queue,
    // so finish from outside the current job.
    this.background(this.ctx.saves.drain().then(() => this.serial.run(() => this.finishRun())));
  }

  private async finishRun(): Promise<void> {
    if (this.settled || this.ending) return;
    if (this.ctx.saves.pending > 0) {
      this.background(this.ctx.saves.drain().then(() => this.serial.run(() => this.finishRun())));
      return;
    }
    const run = this.ctx.run;
    // A trainer that died may have taken decided saves with it (their requests failed): its exit is next in line
    // and records a crash, and the restart resumes from the newest checkpoint.
    if (!this.trainer.running && this.trainerExit === null) return;
    // done's digest is of the weights the loop ended with; a restore sent since (restore-best) replaced them.
    let digest: string | null = this.effects.restoresSent === 0 ? this.endDigest() : null;
    // (A trainer already let go is not asked: a run it left without a known digest finishes without one.)
    if (digest === null && this.trainerExit === null) {
      try {
        const state = (await this.requests.request({ at: 'now' })).state;
        digest = this.ctx.store.weightsDigest(state);
      } catch (error) {
        // The trainer died before handing over its final weights: its exit is next in line and records a crash,
        // and the restart resumes from the newest checkpoint.
        if (!this.trainer.running || hasCode(error) && error.code === 'PROTOCOL_TRAINER_EXITED') return;
        this.ctx.progress.line(`could not read the final weights: ${(error as Error).message}`);
      }
    }
    if (this.settled || this.ending) return;
    this.ending = true;
    // Nothing more is asked of the trainer: it exits while RunFinished is made durable.
    const exited = this.endTrainer();
    await this.append([{ stream: run, type: 'RunFinished', data: { run, epoch: this.position.epoch, step: this.position.step, ...(digest ? { weightsDigest: digest } : {}) } }], true);
    this.ctx.progress.line(`${run} finished at epoch ${this.position.epoch}, step ${this.position.step}${digest ? `, weights ${digest.slice(0, 12)}` : ''}`);
    await exited;
    this.finish({ kind: 'finished', ...this.position, weightsDigest: digest });
  }

  /**
   * The digest of the weights the loop ended with: the store's own, computed from the bytes, when the newest
   * checkpoint holds exactly done's position; else the trainer's word (done.weightsDigest).
   */
  private endDigest(): string | null {
    const last = this.effects.lastCommitted;
    if (last === null || last.epoch !== this.position.epoch || last.step !== this.position.step) return this.doneDigest;
    if (this.doneDigest !== null && this.doneDigest !== last.weightsDigest) {
      this.ctx.progress.line(`the trainer's done digest ${this.doneDigest.slice(0, 12)} differs from its checkpoint's ${last.weightsDigest.slice(0, 12)} at step ${last.step}; recording the checkpoint's`);
    }
    return last.weightsDigest;
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.requests.rejectAll(new CkptError('PROTOCOL_TRAINER_EXITED', `trainer exited (${signal ?? `code ${code}`}) before replying`));
    if (this.settled || this.ending || this.trainerExit !== null) return;
    const reason = this.faultCode
      ? `protocol fault ${this.faultCode}: ${this.faultMessage}`
      : this.doneSeen ? `trainer exited (${signal ?? `code ${code}`}) before the run finished` : `trainer exited (${signal ?? `code ${code}`}) without done`;
    const codeName = this.faultCode ?? 'PROTOCOL_EXIT_WITHOUT_DONE';
    if (!this.faultCode) {
      await this.append([{ stream: this.ctx.run, type: 'ProtocolFault', data: { run: this.ctx.run, code: codeName, message: reason } }], true);
    }
    this.finish({ kind: 'crashed', reason, code: codeName, exitCode: code, signal });
  }

  private async protocolFault(code: string, message: string): Promise<void> {
    this.faultCode = code;
    this.faultMessage = message;
    await this.append([{ stream: this.ctx.run, type: 'ProtocolFault', data: { run: this.ctx.run, code, message } }], true);
    this.ctx.progress.line(`protocol fault: ${code}: ${message}`);
    this.trainer.kill('SIGKILL');
  }

  private crash(code: string, message: string): void {
    this.background(this.serial.run(() => this.protocolFault(code, message)));
  }

  /** Work started outside the pipeline: an error in it is a supervisor failure, never an unhandled rejection. */
  private background(work: Promise<unknown>): void {
    work.catch((error) => this.fail(error));
  }

  /** Ask the trainer to exit and wait for it (once; later calls wait for the same exit). */
  private endTrainer(): Promise<void> {
    this.trainerExit ??= this.exitTrainer();
    return this.trainerExit;
  }

  private async exitTrainer(): Promise<void> {
    this.trainer.send({ type: 'exit' });
    this.trainer.endInput();
    const timer = setTimeout(() => this.trainer.kill('SIGKILL'), this.ctx.timeouts.exitMs);
    await this.trainer.waitForExit();
    clearTimeout(timer);
  }

  private append(events: EventInput[], durable = false): Promise<LedgerEvent[]> {
    return appendAndRead(this.ctx.ledger, events, durable);
  }

  private finish(outcome: SessionOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(outcome);
  }

  private fail(error: unknown): void {
    this.trainer.kill('SIGKILL');
    const code = hasCode(error) ? error.code : 'RUN_FAILED';
    this.fatal = error;
    this.finish({ kind: 'crashed', reason: `supervisor error: ${(error as Error)?.message ?? String(error)}`, code, exitCode: null, signal: null });
  }

  /** An error of the supervisor itself (ledger or bug), as opposed to a trainer fault. */
  fatal: unknown = undefined;
}

/**
 * Whether a policy may still decide a restore after training ended (early stopping's restoreBestWeights, or
 * restoreBestAtEnd, each waiting for the best checkpoint's commit). Only a config that says neither can is
 * trusted: any other policy may.
 */
function mayRestoreAfterTraining(config: Record<string, unknown>): boolean {
  const es = config.earlyStopping as { restoreBestWeights?: unknown } | null | undefined;
  return config.restoreBestAtEnd !== false || (es !== null && (typeof es !== 'object' || es.restoreBestWeights !== false));
}
