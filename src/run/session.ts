/**
 * One trainer process under supervision, from hello to exit: its messages become an RxJS stream that is
 * funnelled (in order, one at a time) through ledger appends and the decision processor, whose driver
 * (trainer-driver.ts) asks this trainer for states, stops and restores it. Saves are written in the background
 * by the save queue while the trainer keeps training.
 *
 * The session never decides about restarts: it resolves with how the trainer ended, and `train()` acts on it.
 *
 * @example
 *   const session = new RunSession(context, trainer);
 *   const outcome = await session.run({ config, seed });
 */
import { concatMap, filter, from, lastValueFrom, tap } from 'rxjs';
import type { EventInput, LedgerEvent } from '../../ledger/types.js';
import { CkptError, hasCode } from '../errors.js';
import { isBlobHash } from '../store/hash.js';
import type { Hello, TrainerMessage } from '../protocol/messages.js';
import { DecisionProcessor } from './decision-processor.js';
import { failedSaves, recordStopped } from './run-records.js';
import { SerialQueue } from './serial-queue.js';
import type { SessionContext, SessionOutcome, SessionStart } from './session-types.js';
import { startMessage } from './start-message.js';
import { StateRequests } from './state-requests.js';
import { StderrTail } from './stderr-tail.js';
import { trainerDriver } from './trainer-driver.js';
import { stderrEvent, trainerEvent } from './trainer-events.js';
import { endDigest, mayRestoreAfterTraining, TrainerExit } from './trainer-exit.js';
import type { TrainerOutput, TrainerProcess } from './trainer-process.js';

export type { SessionContext, SessionOutcome, SessionStart } from './session-types.js';

export class RunSession {
  private readonly serial = new SerialQueue();
  private readonly requests: StateRequests;
  private readonly processor: DecisionProcessor;
  private readonly exit: TrainerExit;
  private readonly stderr = new StderrTail(20);
  private hello: Hello | null = null;
  /** The trainer takes and gives tensors as files in the store (capability 'stage', local store). */
  private stages = false;
  private position = { epoch: 0, step: 0 };
  private stopDecided = false;
  private doneSeen = false;
  /** The trainer's `done.weightsDigest`, when it sent a well-formed one. */
  private doneDigest: string | null = null;
  private ending = false;
  private fault: { code: string; message: string } | undefined;
  private settle!: (outcome: SessionOutcome) => void;
  private settled = false;
  private readonly outcome: Promise<SessionOutcome>;

  /** An error of the supervisor itself (ledger or bug), as opposed to a trainer fault. */
  fatal: unknown = undefined;

  constructor(private readonly ctx: SessionContext, private readonly trainer: TrainerProcess) {
    this.requests = new StateRequests(trainer, ctx.timeouts.stateMs);
    this.exit = new TrainerExit(trainer, ctx.timeouts.exitMs);
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.processor = new DecisionProcessor({
      run: ctx.run, ledger: ctx.ledger, store: ctx.store, policy: ctx.policy, saves: ctx.saves, trainer: ctx.trainerName,
      driver: trainerDriver(trainer, this.requests, {
        backend: () => this.hello?.backend ?? 'unknown',
        onStop: () => { this.stopDecided = true; },
        readsFiles: () => this.stages,
      }),
      onDecision: (decision) => ctx.progress.decision(decision),
      onError: (error) => this.fail(error),
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

  /** The staging directory offered to this session's trainer (capability 'stage'), or null. */
  get stagingDir(): string | null {
    return this.requests.stagingDir;
  }

  /** Current training position (last epoch_end / done seen). */
  get at(): { epoch: number; step: number } {
    return { ...this.position };
  }

  /** Drive the trainer until it ends; resolves with how it ended. */
  async run(start: SessionStart): Promise<SessionOutcome> {
    const helloTimer = setTimeout(() => {
      if (!this.hello) this.crash('PROTOCOL_NO_HELLO', `trainer sent no hello within ${this.ctx.timeouts.helloMs / 1000} s; check that it starts and speaks protocol v1 on stdout (\`ckpt train --hello-timeout <s>\` waits longer)`);
    }, this.ctx.timeouts.helloMs);
    const pipeline = this.trainer.output$.pipe(
      // State replies bypass the serial queue: a handler may be waiting for one.
      filter((item) => !(item.kind === 'message' && this.requests.offer(item.message))),
      // Every frame was delivered before `exit`: nobody can get a reply any more, even a job waiting for one.
      tap((item) => { if (item.kind === 'exit') this.requests.rejectAll(trainerExited(item.code, item.signal)); }),
      concatMap((item) => from(this.serial.run(() => this.handle(item, start)))),
    );
    const done = lastValueFrom(pipeline, { defaultValue: undefined }).catch((error) => this.fail(error));
    const outcome = await this.outcome;
    clearTimeout(helloTimer);
    await done.catch(() => {});
    return outcome;
  }

  /**
   * SIGINT/SIGTERM: a final checkpoint (the existing one when this position is already committed or being
   * committed), RunStopped, then end the trainer.
   * @example process.once('SIGINT', () => session.interrupt('SIGINT'))
   */
  interrupt(signal: NodeJS.Signals): Promise<void> {
    return this.serial.run(async () => {
      // Once the trainer was let go at done, training is complete and its saves are committing: the run finishes.
      if (this.settled || this.ending || this.exit.requested) return;
      this.ending = true;
      const run = this.ctx.run;
      if (this.hello && this.trainer.running) {
        try {
          // The state the trainer has now, saved at exactly its own position (the existing checkpoint when that
          // position is already committed or being committed: never a second one of the same step).
          const state = (await this.requests.request({ at: 'now' })).state;
          const decision = await this.processor.decideOwn({
            kind: 'save', causeSeq: this.ctx.ledger.lastSeq, rule: 'interrupt', run, epoch: state.trainer.epoch, step: state.trainer.step,
            reason: `${signal}: saving a final checkpoint before stopping`, labels: ['interrupted'],
          }, state);
          this.position = { epoch: state.trainer.epoch, step: state.trainer.step };
          await decision.committed;
        } catch (error) {
          this.ctx.progress.line(`could not save a final checkpoint: ${(error as Error).message}`);
        }
      }
      await this.processor.drain().catch(() => undefined);
      await recordStopped(this.ctx.ledger, run, signal);
      this.ctx.progress.line(`${run} stopped by ${signal} at epoch ${this.position.epoch}, step ${this.position.step}`);
      await this.exit.request();
      this.finish({ kind: 'stopped', signal, ...this.position });
    });
  }

  private async handle(item: TrainerOutput, start: SessionStart): Promise<void> {
    if (this.settled) return;
    const run = this.ctx.run;
    switch (item.kind) {
      case 'stderr':
        this.stderr.push(item.line);
        await this.append([stderrEvent(run, item.line)]);
        return;
      case 'fault':
        return this.recordFault(item.error.code, item.error.message, false);
      case 'exit':
        return this.onExit(item.code, item.signal);
      case 'message':
        return this.onMessage(item.message, start);
    }
  }

  private async onMessage(message: TrainerMessage, start: SessionStart): Promise<void> {
    const run = this.ctx.run;
    if (message.type === 'hello') return this.onHello(message, start);
    if (!this.hello) return this.recordFault('PROTOCOL_NO_HELLO', `trainer sent "${message.type}" before hello; hello must be the first frame`, true);
    switch (message.type) {
      case 'batch_end':
        this.ctx.progress.batch(message);
        break;
      case 'epoch_end':
        if (this.position.epoch === 0 && message.epoch === 1 && message.step > 0) this.ctx.progress.setBatchesPerEpoch(message.step);
        else if (message.epoch > this.position.epoch && this.position.step > 0) this.ctx.progress.setBatchesPerEpoch((message.step - this.position.step) / (message.epoch - this.position.epoch));
        this.position = { epoch: message.epoch, step: message.step };
        this.ctx.progress.epoch(message);
        break;
      case 'log':
      case 'error':
        await this.append([trainerEvent(run, message)]);
        return;
      case 'done':
        return this.onDone(message.epoch, message.step, message.reason, message.weightsDigest);
      default:
        return this.recordFault('PROTOCOL_UNEXPECTED', `trainer sent "${message.type}" that nobody asked for`, true);
    }
    // Progress: recorded, then decided.
    const [event] = await this.append([trainerEvent(run, message)]);
    await this.processor.feed(event);
  }

  private async onHello(hello: Hello, start: SessionStart): Promise<void> {
    if (this.hello) return this.recordFault('PROTOCOL_UNEXPECTED', 'trainer sent a second hello', true);
    if (hello.protocol !== 1) return this.recordFault('PROTOCOL_VERSION', `trainer speaks protocol ${hello.protocol}; this supervisor speaks 1`, true);
    this.hello = hello;
    if (typeof hello.batchesPerEpoch === 'number') this.ctx.progress.setBatchesPerEpoch(hello.batchesPerEpoch);
    this.stages = hello.capabilities.includes('stage') && this.ctx.store.stagingRoot !== null;
    const started = this.ctx.onHello(hello, this.stages ? 'staged' : 'frames');
    // The trainer sets up (data, model) while RunStarted/RunResumed is made durable: the ledger applies appends
    // in call order, so nothing it reports can be recorded before that event, and a start that a crash leaves
    // unrecorded trained nothing that could be committed.
    const stored = this.append(started.events, true);
    if (start.state) {
      this.position = { epoch: start.state.trainer.epoch, step: start.state.trainer.step };
      if (start.checkpoint) this.processor.alreadyCommitted(this.position, start.checkpoint);
    }
    const message = await startMessage(start, this.stages, this.ctx.store);
    this.requests.stagingDir = message.staging?.dir ?? null;
    this.trainer.send(message);
    const events = await stored;
    this.ctx.progress.line(started.line);
    for (const event of events) await this.processor.feed(event);
  }

  private async onDone(epoch: number, step: number, reason: 'done' | 'stopped', weightsDigest: unknown): Promise<void> {
    if (this.doneSeen) return;
    this.doneSeen = true;
    this.doneDigest = isBlobHash(weightsDigest) ? weightsDigest : null;
    this.position = { epoch, step };
    const run = this.ctx.run;
    const endReason = reason === 'stopped' ? (this.stopDecided ? 'early-stop' : 'stopped') : 'done';
    const [event] = await this.append([{ stream: run, type: 'TrainingEnded', data: { run, epoch, step, reason: endReason } }], true);
    await this.processor.feed(event);
    // Every decided save was asked for by now. When the final weights are known (done's digest) and the policy
    // cannot decide a restore any more, nothing else will be asked of the trainer: once it has replied to every
    // save (a big state may still be staging), it exits, while the last saves commit, not after them.
    const finalWeightsKnown = this.doneDigest !== null && this.processor.restoresDone === 0;
    if (this.trainer.running && finalWeightsKnown && !mayRestoreAfterTraining(this.ctx.policy.config)) {
      this.background(this.requests.idle().then(() => this.exit.request()));
    }
    // Finishing waits for every background save and the decisions they cause; those run on the processor's
    // queue, so finish from outside the current job.
    this.background(this.processor.drain().then(() => this.serial.run(() => this.finishRun())));
  }

  private async finishRun(): Promise<void> {
    if (this.settled || this.ending) return;
    if (this.ctx.saves.pending > 0) {
      this.background(this.processor.drain().then(() => this.serial.run(() => this.finishRun())));
      return;
    }
    const run = this.ctx.run;
    // A trainer that died may have taken decided saves with it (their requests failed): its exit is next in line
    // and records a crash, and the restart resumes from the newest checkpoint.
    if (!this.trainer.running && !this.exit.requested) return;
    // done's digest is of the weights the loop ended with; a restore sent since (restore-best) replaced them.
    let digest: string | null = null;
    if (this.processor.restoresDone === 0) {
      const end = endDigest(this.processor.lastCommitted, this.position, this.doneDigest);
      if (end.mismatch) this.ctx.progress.line(end.mismatch);
      digest = end.digest;
    }
    // (A trainer already let go is not asked: a run it left without a known digest finishes without one.)
    if (digest === null && !this.exit.requested) {
      try {
        digest = await this.ctx.store.weightsDigest((await this.requests.request({ at: 'now' })).state);
      } catch (error) {
        if (!this.trainer.running || hasCode(error) && error.code === 'PROTOCOL_TRAINER_EXITED') return;
        this.ctx.progress.line(`could not read the final weights: ${(error as Error).message}`);
      }
    }
    if (this.settled || this.ending) return;
    this.ending = true;
    // Nothing more is asked of the trainer: it exits while RunFinished is made durable.
    const exited = this.exit.request();
    const failed = await failedSaves(this.ctx.ledger, run);
    const data = { run, ...this.position, ...(digest ? { weightsDigest: digest } : {}), ...(failed > 0 ? { failedSaves: failed } : {}) };
    await this.append([{ stream: run, type: 'RunFinished', data }], true);
    this.ctx.progress.line(`${run} finished at epoch ${this.position.epoch}, step ${this.position.step}${digest ? `, weights ${digest.slice(0, 12)}` : ''}`);
    await exited;
    this.finish({ kind: 'finished', ...this.position, weightsDigest: digest, failedSaves: failed });
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.requests.rejectAll(trainerExited(code, signal));
    if (this.settled || this.ending || this.exit.requested) return;
    const how = `trainer exited (${signal ?? `code ${code}`})`;
    const earlier = this.fault;
    if (!earlier) await this.recordFault('PROTOCOL_EXIT_WITHOUT_DONE', this.doneSeen ? `${how} before the run finished` : `${how} without done`, false);
    const fault = this.fault as { code: string; message: string };
    const reason = earlier ? `protocol fault ${fault.code}: ${fault.message}` : fault.message;
    this.finish({ kind: 'crashed', reason, code: fault.code, exitCode: code, signal, beforeHello: this.hello === null });
  }

  /**
   * A ProtocolFault, durably, and on the terminal. Before hello the trainer's stderr tail goes with it: that is
   * where a trainer that cannot start says why.
   */
  private async recordFault(code: string, message: string, kill: boolean): Promise<void> {
    const stderr = this.hello === null ? this.stderr.lines : [];
    const text = stderr.length > 0 ? `${message}; its stderr ends:\n${this.stderr.text()}` : message;
    this.fault ??= { code, message: text };
    const run = this.ctx.run;
    await this.append([{ stream: run, type: 'ProtocolFault', data: { run, code, message: text, ...(stderr.length > 0 ? { stderr } : {}) } }], true);
    this.ctx.progress.line(`protocol fault: ${code}: ${text}`);
    if (kill) this.trainer.kill('SIGKILL');
  }

  private crash(code: string, message: string): void {
    this.background(this.serial.run(() => this.recordFault(code, message, true)));
  }

  /** Work started outside the pipeline: an error in it is a supervisor failure, never an unhandled rejection. */
  private background(work: Promise<unknown>): void {
    work.catch((error) => this.fail(error));
  }

  private async append(events: EventInput[], durable = false): Promise<LedgerEvent[]> {
    if (events.length === 0) return [];
    return (await this.ctx.ledger.append(events, { durable })).events;
  }

  private finish(outcome: SessionOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.processor.close();
    this.settle(outcome);
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.trainer.kill('SIGKILL');
    const code = hasCode(error) ? error.code : 'RUN_FAILED';
    this.fatal = error;
    this.finish({ kind: 'crashed', reason: `supervisor error: ${(error as Error)?.message ?? String(error)}`, code, exitCode: null, signal: null, beforeHello: false });
  }
}

function trainerExited(code: number | null, signal: NodeJS.Signals | null): CkptError {
  return new CkptError('PROTOCOL_TRAINER_EXITED', `trainer exited (${signal ?? `code ${code}`}) before replying`);
}
