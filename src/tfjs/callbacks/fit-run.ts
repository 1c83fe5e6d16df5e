/**
 * The run behind one `model.fit` in one ckpt directory: the in-process driver of the decision processor (the
 * supervisor's session is the other). Callbacks on the same directory join it; it appends the run's progress
 * events and feeds them to the one DecisionProcessor (src/run/decision-processor.ts), which runs the policy,
 * records and carries out every decision; this file supplies only the effects on the live model (capture its
 * state, stop, restore) and the Keras filepath description.
 */
import * as tf from '@tensorflow/tfjs';
import type { EventInput, Ledger } from '../../../ledger/types.js';
import type { CheckpointState, HistoryEntry } from '../../checkpoint.js';
import type { Metrics } from '../../events.js';
import { CkptError } from '../../errors.js';
import { createPolicy, parsePolicyConfig, type Policy } from '../../policy/index.js';
import { DecisionProcessor, type DecisionDriver } from '../../run/decision-processor.js';
import { failedSaves } from '../../run/run-records.js';
import { PolicyFeed } from '../../run/policy-feed.js';
import type { RunPolicy } from '../../run/ports.js';
import { SaveQueue } from '../../run/save-queue.js';
import { storePort } from '../../run/workspace-ports.js';
import { weightsDigest } from '../../store/index.js';
import type { Workspace } from '../../workspace.js';
import { captureObject, restoreObject } from '../state.js';
import { assertInMemory } from '../../protocol/staged.js';
import type { Participant, StepOutcome } from './participant.js';
import { mergePolicyInputs } from './policy-input.js';
import { findContinuation, findResumePoint, recordCrashIfUnfinished, startRunEvents, type ResumePoint } from './run-lifecycle.js';

export const IN_PROCESS_TRAINER = 'tfjs-fit';

/**
 * What tfjs passes in `setParams`. `fit` sets samples/batchSize/initialEpoch; `fitDataset` sets only epochs and
 * (sometimes) steps, so the run counts batches itself and takes the start epoch from the first onEpochBegin.
 */
export interface FitParams { epochs: number; initialEpoch?: number | null; samples?: number | null; batchSize?: number | null; steps?: number | null }

/**
 * One per fit and directory, created and shared through fit-registry (callbacks never construct it directly).
 * @example const run = await joinFitRun(model, dir, participant); await run.start(params, 0)
 */
export class FitRun {
  readonly participants: Participant[] = [];
  run = '';
  /** True when this fit continued an interrupted run (BackupAndRestore). */
  resumed = false;
  private policy!: Policy;
  private processor!: DecisionProcessor;
  /** Where training is while its events are decided: what a save captures and a filepath names. */
  private at: Position = { epoch: 0, step: 0, metrics: {}, names: { epoch: 0 } };
  private history: HistoryEntry[] = [];
  private stepsPerEpoch = 1;
  private started?: Promise<void>;
  private epochStartedAt = 0;
  private epochInProgress = -1;
  private epochStartStep = 0;
  private batchesInEpoch = 0;
  private lastStep = 0;
  private lastEpoch = 0;
  private stopped = false;
  private readonly outcomes = new Map<string, Promise<StepOutcome>>();

  constructor(readonly workspace: Workspace, readonly model: tf.LayersModel) {}

  private get ledger(): Ledger { return this.workspace.ledger; }

  /** Add a callback's wishes; only before the first epoch starts. */
  join(participant: Participant): void {
    if (!this.participants.includes(participant)) this.participants.push(participant);
  }

  /**
   * Start (or resume) the run once, at the first epoch (0-based `firstEpoch`, the real start of this fit):
   * every callback has joined by then.
   */
  start(params: FitParams, firstEpoch: number): Promise<void> {
    this.started ??= this.begin(params, firstEpoch);
    return this.started;
  }

  private async begin(params: FitParams, initialEpoch: number): Promise<void> {
    this.stepsPerEpoch = estimateStepsPerEpoch(params);
    const config = parsePolicyConfig(mergePolicyInputs(this.participants.map((p) => p.policy)));
    this.policy = createPolicy(config);
    const wantsResume = this.participants.some((p) => p.resume);
    const point = wantsResume
      ? await findResumePoint(this.workspace, IN_PROCESS_TRAINER)
      : initialEpoch > 0 ? await findContinuation(this.workspace, IN_PROCESS_TRAINER, initialEpoch, this.stepsPerEpoch) : undefined;
    if (point) {
      await this.resume(point, initialEpoch);
    } else {
      await recordCrashIfUnfinished(this.workspace);
      const { run, events } = await startRunEvents(this.workspace, {
        trainer: IN_PROCESS_TRAINER, trainerVersion: tf.version_layers, backend: tf.getBackend(),
        epochs: params.epochs, batchSize: params.batchSize ?? 0, policy: config as unknown as Record<string, unknown>,
        trainerConfig: { samples: params.samples ?? null, initialEpoch, callbacks: this.participants.map((p) => p.kind) },
      });
      this.run = run;
      this.lastEpoch = initialEpoch;
      this.lastStep = initialEpoch * this.stepsPerEpoch;
      this.processor = this.createProcessor(PolicyFeed.fromState(this.policy, this.ledger, run, this.policy.init(), this.ledger.lastSeq));
      await this.record(events, true);
    }
  }

  /** The one decision processor, with this fit's effects on the live model. */
  private createProcessor(feed: RunPolicy): DecisionProcessor {
    const driver: DecisionDriver = {
      capture: () => this.captureState(),
      stop: () => {
        this.stopped = true;
        this.model.stopTraining = true;
      },
      restore: async (state) => {
        // This driver asks for no other restore form than memory.
        await restoreObject(this.model, undefined, assertInMemory(state, 'restore').objects.model);
        return state.trainer.epoch;
      },
      describe: () => this.describe(this.at),
      backend: () => tf.getBackend(),
    };
    return new DecisionProcessor({
      run: this.run, ledger: this.ledger, store: storePort(this.workspace.store), policy: feed, saves: new SaveQueue(),
      trainer: IN_PROCESS_TRAINER, driver, waitForSaves: this.participants.some((p) => p.durableAtEpochEnd),
    });
  }

  /** Continue the directory's unfinished run; a BackupAndRestore point also restores the model from its checkpoint. */
  private async resume(point: ResumePoint, initialEpoch: number): Promise<void> {
    this.run = point.run;
    this.resumed = true;
    // The policy state is a fold of the run's recorded events, exactly as the supervisor's projection is.
    this.processor = this.createProcessor(await PolicyFeed.open(this.policy, this.ledger, this.run));
    if (initialEpoch !== point.epoch) {
      throw new CkptError('CALLBACK_INITIAL_EPOCH',
        `${point.run} resumes after epoch ${point.epoch}, but fit started at initialEpoch ${initialEpoch}; pass initialEpoch: await backup.initialEpoch() to model.fit`,
        { details: { run: point.run, epoch: point.epoch, initialEpoch } });
    }
    if (point.state) await restoreObject(this.model, this.model.optimizer, point.state.objects.model);
    this.history = [...point.history];
    this.lastEpoch = point.epoch;
    this.lastStep = point.step;
    if (point.checkpoint && point.state) this.processor.alreadyCommitted({ epoch: point.epoch, step: point.step }, point.checkpoint);
    await this.record(point.events(this.run), true);
  }

  /** The history so far (restored epochs included), as `{epoch, metrics}` entries. */
  get trainingHistory(): readonly HistoryEntry[] { return this.history; }

  /** Every callback reports each epoch start; the first report of an epoch counts. */
  epochBegan(epochIndex: number): void {
    if (epochIndex === this.epochInProgress) return;
    this.epochInProgress = epochIndex;
    this.epochStartStep = this.lastStep;
    this.batchesInEpoch = 0;
    this.epochStartedAt = performance.now();
  }

  /** Every callback reports each batch end; the run counts steps from them (fitDataset gives no batch count). */
  batchSeen(batch: number): void {
    this.batchesInEpoch = Math.max(this.batchesInEpoch, batch + 1);
  }

  /**
   * Record the end of an epoch (0-based tfjs index) once, however many callbacks report it; run the policy.
   * @example const outcome = await fitRun.epochEnded(2, { loss: 0.3, val_loss: 0.31 })
   */
  epochEnded(epochIndex: number, metrics: Metrics): Promise<StepOutcome> {
    return this.once(`e${epochIndex}`, async () => {
      const epoch = epochIndex + 1;
      const step = this.epochStartStep + (this.batchesInEpoch || this.stepsPerEpoch);
      this.lastEpoch = epoch;
      this.lastStep = step;
      this.history = [...this.history.filter((h) => h.epoch < epoch), { epoch, metrics }];
      const ms = Math.round(performance.now() - this.epochStartedAt);
      this.at = { epoch, step, metrics, names: { epoch, ...metrics } };
      await this.record([{ stream: this.run, type: 'EpochEnded', data: { run: this.run, epoch, step, metrics, ms } }]);
      // Stopping: a restore may wait for the best epoch's save still being written; finish it now.
      if (this.stopped) await this.processor.drain();
      return { epoch, step, metrics, decisions: this.processor.take() };
    });
  }

  /** Record a sampled batch end (ModelCheckpoint saveFreq: N); returns undefined when no one samples it. */
  batchEnded(epochIndex: number, batch: number, metrics: Metrics): Promise<StepOutcome> | undefined {
    const step = this.epochStartStep + batch + 1;
    if (!this.participants.some((p) => p.batchEvery && step % p.batchEvery === 0)) return undefined;
    return this.once(`b${step}`, async () => {
      const epoch = epochIndex + 1;
      this.lastStep = step;
      // A mid-epoch checkpoint has `epochIndex` epochs completed; its name uses Keras's epoch + 1 and batch + 1.
      this.at = { epoch: epochIndex, step, metrics, names: { epoch, batch: batch + 1, ...metrics } };
      await this.record([{ stream: this.run, type: 'BatchEnded', data: { run: this.run, epoch, batch, step, metrics } }]);
      return { epoch, step, batch, metrics, decisions: this.processor.take() };
    });
  }

  /** End of fit: TrainingEnded (final "last" saves), then RunFinished with the weights' digest. */
  trainEnded(): Promise<StepOutcome> {
    return this.once('end', async () => {
      // Stopped by the policy, by another callback (model.stopTraining), or out of epochs.
      const reason = this.stopped ? 'early-stop' : this.model.stopTraining ? 'stopped' : 'done';
      const metrics = this.history.at(-1)?.metrics ?? {};
      this.at = { epoch: this.lastEpoch, step: this.lastStep, metrics, names: { epoch: this.lastEpoch, ...metrics } };
      await this.record([{ stream: this.run, type: 'TrainingEnded', data: { run: this.run, epoch: this.lastEpoch, step: this.lastStep, reason } }], true);
      // Every save written and its decisions carried out before the run is recorded as finished.
      await this.processor.drain();
      const digest = weightsDigest({ objects: { model: await captureObject(this.model) } });
      const failed = await failedSaves(this.ledger, this.run);
      const finished = { run: this.run, epoch: this.lastEpoch, step: this.lastStep, weightsDigest: digest, ...(failed > 0 ? { failedSaves: failed } : {}) };
      await this.ledger.append([{ stream: this.run, type: 'RunFinished', data: finished }], { durable: true });
      return { epoch: this.lastEpoch, step: this.lastStep, metrics, decisions: this.processor.take() };
    });
  }

  /** Wait for saves still being written (before the workspace closes); their failures are already recorded. */
  async settle(): Promise<void> {
    await this.processor?.drain().catch(() => undefined);
  }

  private once(key: string, work: () => Promise<StepOutcome>): Promise<StepOutcome> {
    let outcome = this.outcomes.get(key);
    if (!outcome) {
      outcome = work();
      this.outcomes.set(key, outcome);
    }
    return outcome;
  }

  /** Append progress events, then feed them to the processor (which carries out every decision they cause). */
  private async record(events: EventInput[], durable = false): Promise<void> {
    this.processor.throwIfFailed();
    const stored = await this.ledger.append(events, { durable });
    for (const event of stored.events) await this.processor.feed(event);
  }

  /** The live model: a decision is carried out before tfjs trains on, so it holds exactly the decided position. */
  private async captureState(): Promise<CheckpointState> {
    const weightsOnly = this.participants.filter((p) => p.kind !== 'EarlyStopping').every((p) => p.weightsOnly);
    // The topology stays even for weights-only saves: it is one deduplicated blob, and exports need it.
    const object = await captureObject(this.model, weightsOnly ? undefined : this.model.optimizer);
    return { objects: { model: object }, trainer: { epoch: this.at.epoch, step: this.at.step }, history: [...this.history] };
  }

  private describe(at: Position): string | undefined {
    for (const p of this.participants) {
      const text = p.describe?.(at.names);
      if (text) return text;
    }
    return undefined;
  }
}

/** Training position a decision is acted on at; `names` are the values a Keras filepath template may use. */
interface Position { epoch: number; step: number; metrics: Metrics; names: Record<string, number> }

function estimateStepsPerEpoch(params: FitParams): number {
  if (typeof params.steps === 'number' && params.steps > 0) return params.steps;
  if (typeof params.samples === 'number' && typeof params.batchSize === 'number' && params.batchSize > 0) {
    return Math.max(1, Math.ceil(params.samples / params.batchSize));
  }
  return 1;
}
