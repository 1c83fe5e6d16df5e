/**
 * The run behind one `model.fit` in one ckpt directory: the in-process twin of the supervisor. Callbacks on
 * the same directory join it; it appends the run's events, runs the policy reducer over them (the same
 * src/policy reducer the supervisor runs, so decisions and reasons are identical), appends every decision
 * durably before acting on it, and carries the decisions out against the live model (save → store.commit,
 * prune → store.prune, stop → model.stopTraining, restore → store.load + restoreObject).
 */
import * as tf from '@tensorflow/tfjs';
import type { LedgerEvent, Ledger } from '../../../ledger/types.js';
import type { CheckpointState, HistoryEntry } from '../../checkpoint.js';
import { DECISION_EVENT, type Metrics } from '../../events.js';
import { CkptError } from '../../errors.js';
import { createPolicy, parsePolicyConfig, type Policy, type PolicyState } from '../../policy/index.js';
import { weightsDigest } from '../../store/index.js';
import type { Workspace } from '../../workspace.js';
import { captureObject, restoreObject } from '../state.js';
import type { Participant, RecordedDecision, StepOutcome } from './participant.js';
import { BackgroundSaves } from './background-saves.js';
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
  private policyState!: PolicyState;
  private fedSeq = 0;
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
  private readonly saves = new BackgroundSaves();

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
    this.policyState = this.policy.init();
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
      this.fedSeq = this.ledger.lastSeq;
      await this.ledger.append(events, { durable: true });
      await this.pump();
    }
  }

  /** Continue the directory's unfinished run; a BackupAndRestore point also restores the model from its checkpoint. */
  private async resume(point: ResumePoint, initialEpoch: number): Promise<void> {
    this.run = point.run;
    this.resumed = true;
    // Rebuild the policy state by folding the run's recorded events, exactly as the supervisor's projection does.
    for await (const event of this.ledger.read({ stream: this.run })) {
      this.policyState = this.policy.decide(this.policyState, event).state;
      this.fedSeq = event.seq;
    }
    this.fedSeq = this.ledger.lastSeq;
    if (initialEpoch !== point.epoch) {
      throw new CkptError('CALLBACK_INITIAL_EPOCH',
        `${point.run} resumes after epoch ${point.epoch}, but fit started at initialEpoch ${initialEpoch}; pass initialEpoch: await backup.initialEpoch() to model.fit`,
        { details: { run: point.run, epoch: point.epoch, initialEpoch } });
    }
    if (point.state) await restoreObject(this.model, this.model.optimizer, point.state.objects.model);
    this.history = [...point.history];
    this.lastEpoch = point.epoch;
    this.lastStep = point.step;
    await this.ledger.append(point.events(this.run), { durable: true });
    await this.pump();
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
      const at = { epoch, step, metrics, names: { epoch, ...metrics } };
      const decisions = await this.record({ stream: this.run, type: 'EpochEnded', data: { run: this.run, epoch, step, metrics, ms } }, at);
      if (this.stopped) {
        // Stopping: a restore may wait for the best epoch's save still being written; finish it now.
        await this.saves.drain();
        decisions.push(...(await this.pump(at)));
      }
      return { epoch, step, metrics, decisions };
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
      const at = { epoch: epochIndex, step, metrics, names: { epoch, batch: batch + 1, ...metrics } };
      const decisions = await this.record({ stream: this.run, type: 'BatchEnded', data: { run: this.run, epoch, batch, step, metrics } }, at);
      return { epoch, step, batch, metrics, decisions };
    });
  }

  /** End of fit: TrainingEnded (final "last" saves), then RunFinished with the weights' digest. */
  trainEnded(): Promise<StepOutcome> {
    return this.once('end', async () => {
      const reason = this.stopped ? 'early-stop' : 'done';
      const metrics = this.history.at(-1)?.metrics ?? {};
      const position = { epoch: this.lastEpoch, step: this.lastStep, metrics, names: { epoch: this.lastEpoch, ...metrics } };
      // Every save written and fed to the policy before it decides the "last" save; then that one too.
      await this.saves.drain();
      const decisions = await this.pump(position);
      decisions.push(...(await this.record({ stream: this.run, type: 'TrainingEnded', data: { run: this.run, epoch: this.lastEpoch, step: this.lastStep, reason } }, position)));
      await this.saves.drain();
      decisions.push(...(await this.pump(position)));
      const digest = weightsDigest({ objects: { model: await captureObject(this.model) } });
      await this.ledger.append([{ stream: this.run, type: 'RunFinished', data: { run: this.run, epoch: this.lastEpoch, step: this.lastStep, weightsDigest: digest } }], { durable: true });
      return { ...position, decisions };
    });
  }

  /** Wait for saves still being written (before the workspace closes); their failures are already recorded. */
  async settle(): Promise<void> {
    await this.saves.drain().catch(() => undefined);
  }

  private once(key: string, work: () => Promise<StepOutcome>): Promise<StepOutcome> {
    let outcome = this.outcomes.get(key);
    if (!outcome) {
      outcome = work();
      this.outcomes.set(key, outcome);
    }
    return outcome;
  }

  /** Append one progress event, then feed the policy until every decision it caused was carried out. */
  private async record(event: { stream: string; type: string; data: unknown }, at: Position): Promise<RecordedDecision[]> {
    this.saves.throwIfFailed();
    await this.ledger.append([event]);
    return this.pump(at);
  }

  /**
   * Feed every new event of this run to the policy, in seq order; decisions are appended durably, then acted on.
   * Acting appends more events (CheckpointCommitted, CheckpointPruned, ...), which the loop feeds in turn.
   */
  private async pump(at: Position = { epoch: this.lastEpoch, step: this.lastStep, metrics: {}, names: { epoch: this.lastEpoch } }): Promise<RecordedDecision[]> {
    const recorded: RecordedDecision[] = [];
    while (this.ledger.lastSeq > this.fedSeq) {
      const toSeq = this.ledger.lastSeq;
      const batch: LedgerEvent[] = [];
      for await (const event of this.ledger.read({ stream: this.run, fromSeq: this.fedSeq + 1, toSeq })) batch.push(event);
      this.fedSeq = toSeq;
      for (const event of batch) {
        const { state, decisions } = this.policy.decide(this.policyState, event);
        this.policyState = state;
        if (decisions.length === 0) continue;
        const { seqs } = await this.ledger.append(
          decisions.map((d) => ({ stream: this.run, type: DECISION_EVENT[d.kind], data: { ...d, run: d.run ?? this.run } })),
          { durable: true },
        );
        for (let i = 0; i < decisions.length; i++) {
          const decision: RecordedDecision = { ...decisions[i], seq: seqs[i] };
          await this.act(decision, at);
          recorded.push(decision);
        }
      }
    }
    return recorded;
  }

  private async act(decision: RecordedDecision, at: Position): Promise<void> {
    const store = this.workspace.store;
    switch (decision.kind) {
      case 'save': {
        // One save in flight: a new one first waits for the previous write (so memory holds one copy at most),
        // then copies the state now (training changes the weights next batch) and is written while training goes on.
        await this.saves.drain();
        const state = await this.captureState(at);
        const meta = {
          run: this.run, epoch: decision.epoch ?? at.epoch, step: decision.step ?? at.step, metrics: at.metrics,
          decisionSeq: decision.seq, labels: decision.labels, description: this.describe(at),
          trainer: IN_PROCESS_TRAINER, backend: tf.getBackend(),
        };
        decision.committed = this.saves.enqueue(() => store.commit(state, meta)).then((c) => (decision.checkpoint = c.checkpoint));
        decision.committed.catch(() => undefined); // the failure surfaces through saves.throwIfFailed
        if (this.participants.some((p) => p.durableAtEpochEnd)) await this.saves.drain();
        return;
      }
      case 'prune':
        if (decision.checkpoint) await store.prune(decision.checkpoint, { intentSeq: decision.seq, reason: decision.reason });
        return;
      case 'backup':
        // A failed backup is recorded by the store as BackupFailed; training goes on, as in the supervisor.
        if (decision.checkpoint && decision.target) await store.backup(decision.checkpoint, decision.target).catch(() => undefined);
        return;
      case 'stop':
        this.stopped = true;
        this.model.stopTraining = true;
        return;
      case 'restore': {
        if (!decision.checkpoint) return;
        await this.saves.drain();
        const loaded = await store.load(decision.checkpoint);
        await restoreObject(this.model, undefined, loaded.state.objects.model);
        decision.restoredEpoch = loaded.state.trainer.epoch;
        return;
      }
      default:
        return;
    }
  }

  private async captureState(at: Position): Promise<CheckpointState> {
    const weightsOnly = this.participants.filter((p) => p.kind !== 'EarlyStopping').every((p) => p.weightsOnly);
    // The topology stays even for weights-only saves: it is one deduplicated blob, and exports need it.
    const object = await captureObject(this.model, weightsOnly ? undefined : this.model.optimizer);
    return { objects: { model: object }, trainer: { epoch: at.epoch, step: at.step }, history: [...this.history] };
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
