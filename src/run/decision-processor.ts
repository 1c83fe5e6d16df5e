/**
 * The one decision processor (Emmett's workflow processor): it feeds a run's events to the pure policy in seq
 * order (PolicyFeed), appends every decision durably before acting on it, carries out commit / prune / backup
 * through the store, and feeds the facts they record (CheckpointCommitted, CheckpointPruned, BackupVerified)
 * back in. `ckpt train`'s supervisor (session.ts) and the in-process tfjs callbacks (fit-run.ts) are two drivers
 * that only supply the effects it cannot do itself: capture the trainer's state, stop, restore.
 *
 * Failures are facts, never silence: a save whose exact state cannot be had, or that the store cannot write,
 * is a `SaveFailed` event (and a `warn` decision); a failed prune, backup or restore is a `warn` decision. No
 * other state is ever committed in place of the decided one.
 *
 * @example
 *   const processor = new DecisionProcessor({ run, ledger, store, policy, saves, trainer: 'mlp', driver });
 *   const decisions = await processor.feed(epochEnded); // stored decisions, acted on
 */
import type { EventInput, Ledger, LedgerEvent } from '../../ledger/types.js';
import type { WireState } from '../checkpoint.js';
import type { TensorForm } from '../store/load.js';
import { hasCode } from '../errors.js';
import { DECISION_EVENT, type CheckpointCommitted, type Decision, type Metrics, type SaveFailed } from '../events.js';
import type { RunPolicy, RunStore } from './ports.js';
import type { SaveQueue } from './save-queue.js';
import { SerialQueue } from './serial-queue.js';

/** A training position: completed epochs and steps, as events and checkpoints name it. */
export interface Position { epoch: number; step: number }

/** A decision as appended to the ledger, with the seq it got (prune needs it as `intentSeq`). */
export interface RecordedDecision extends Decision {
  seq: number;
  /** For `save`: the checkpoint it produced, once committed. For `restore`: the epoch restored. */
  checkpoint?: string;
  restoredEpoch?: number;
  /** For `save`: settles with the checkpoint id once the background write is committed (rejects when it failed). */
  committed?: Promise<string>;
}

/** The effects only a driver can carry out; everything else is the processor's. */
export interface DecisionDriver {
  /** The trainer's state at exactly `position` (reject when it cannot be had: the save fails, nothing else is committed). */
  capture(position: Position, decision: RecordedDecision): Promise<WireState>;
  /**
   * True when `capture` has fixed the state by the time it returns (a trainer process was asked for a position it
   * holds): the processor then goes on at once and the save queue waits for the reply. Otherwise (an in-process model
   * that trains on) the processor waits for the capture before anything else happens.
   */
  readonly captureFixedOnCall?: boolean;
  stop(decision: RecordedDecision): void;
  /** Put a loaded checkpoint's state into the trainer (in the form `restoreForm` asks for); returns the epoch it restored. */
  restore(state: WireState, decision: RecordedDecision): Promise<number>;
  /** How `restore` takes tensors: in memory (default), or as verified blob files (a trainer with the `stage` capability). */
  restoreForm?(): TensorForm;
  /** A description for the checkpoint saved at `position` (the Keras filepath), if any. */
  describe?(position: Position): string | undefined;
  /** Every decision caused by `position`'s progress event was handled: the trainer may drop its held state. */
  release?(position: Position): void;
  /** The backend recorded with each checkpoint. */
  backend(): string;
}

export interface ProcessorOptions {
  run: string;
  ledger: Ledger;
  store: RunStore;
  policy: RunPolicy;
  /** Background checkpoint writes, one in flight at a time. */
  saves: SaveQueue;
  /** Trainer name recorded with each checkpoint. */
  trainer: string;
  driver: DecisionDriver;
  /** Called with each decision once it is durable (progress lines). */
  onDecision?(decision: RecordedDecision): void;
  /** Make every save durable before the processor moves on (BackupAndRestore: a crash after epoch N resumes from N). */
  waitForSaves?: boolean;
  /** A failure of work that finished in the background (the ledger refused an append): the driver's to surface. */
  onError?(error: unknown): void;
}

const PROGRESS = new Set(['EpochEnded', 'BatchEnded']);

/**
 * Saves pending at once (one being written, one waiting for its state or its turn). A further save waits before it
 * asks for its state: a disk slower than the saves decided then holds training back through the trainer's
 * unreleased states (docs/protocol.md, "Hold and release"), as a synchronous save would, instead of piling up
 * replied states in the supervisor's memory or staged files on its disk.
 */
const MAX_PENDING_SAVES = 2;
const key = (p: Position): string => `${p.epoch}:${p.step}`;

export class DecisionProcessor {
  /** `restore` decisions carried out: the trainer's weights are no longer those its loop ended with. */
  restoresDone = 0;
  /** The newest checkpoint this processor saw committed (its position and the weights digest the store computed). */
  lastCommitted: { epoch: number; step: number; weightsDigest: string } | null = null;
  private readonly queue = new SerialQueue();
  /** Metrics reported at each recent position, for the checkpoint saved there. */
  private readonly metricsAt = new Map<string, Metrics>();
  /**
   * Positions committed or being committed: a second save of one of them is the same checkpoint (`joined`: those
   * later decisions, which fail with it when it fails).
   */
  private readonly saving = new Map<string, { committed: Promise<string>; joined: RecordedDecision[] }>();
  private recorded: RecordedDecision[] = [];
  private failure: unknown = undefined;
  private closed = false;

  constructor(private readonly options: ProcessorOptions) {}

  /**
   * Feed one stored event of the run; resolves once every decision it caused (and the decisions of the facts
   * those produced, except commits still being written) was recorded and carried out.
   * @example await processor.feed(epochEnded)
   */
  feed(event: LedgerEvent): Promise<RecordedDecision[]> {
    return this.queue.run(async () => {
      const before = this.recorded.length;
      await this.process(event);
      return this.recorded.slice(before);
    });
  }

  /**
   * Decide and carry out one decision the driver makes itself (an interrupt's final save, with the state the
   * driver already holds for exactly the decision's position): appended durably, then acted on like the policy's.
   * @example await processor.decideOwn({ kind: 'save', rule: 'interrupt', epoch: 3, step: 300, ... }, state)
   */
  decideOwn(decision: Decision, state?: WireState): Promise<RecordedDecision> {
    return this.queue.run(async () => {
      const [recorded] = await this.append([decision]);
      if (recorded.kind === 'save') await this.save(recorded, state);
      else await this.act(recorded);
      return recorded;
    });
  }

  /** Decisions recorded since the last call (including those of commits that finished in the background). */
  take(): RecordedDecision[] {
    const taken = this.recorded;
    this.recorded = [];
    return taken;
  }

  /** Wait for every queued save and for the decisions its commit caused. */
  async drain(): Promise<void> {
    // A save waiting for room (MAX_PENDING_SAVES) enqueues its write only once an earlier one finished.
    do {
      await this.options.saves.drain();
      await this.queue.drain();
    } while (this.options.saves.pending > 0);
    this.throwIfFailed();
  }

  /**
   * A checkpoint that already holds `position` (the one a resume starts from): a save decided there is that
   * checkpoint, never a second copy.
   * @example processor.alreadyCommitted({ epoch: 3, step: 300 }, 'ckpt-3')
   */
  alreadyCommitted(position: Position, checkpoint: string): void {
    this.saving.set(key(position), { committed: Promise.resolve(checkpoint), joined: [] });
  }

  /** Stop acting on events (the session ended); work already queued finishes. */
  close(): void {
    this.closed = true;
  }

  /** A failure of the processor itself (the ledger), which its driver must surface. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async process(event: LedgerEvent): Promise<void> {
    if (this.closed) return;
    const progress = PROGRESS.has(event.type) ? event.data as { epoch: number; step: number; metrics: Metrics } : null;
    if (progress) this.remember(progress);
    if (event.type === 'CheckpointCommitted') {
      const { epoch, step, weightsDigest } = event.data as CheckpointCommitted;
      this.lastCommitted = { epoch, step, weightsDigest };
    }
    const decisions = await this.options.policy.decide(event);
    if (decisions.length > 0) for (const decision of await this.append(decisions)) await this.act(decision);
    if (progress) this.options.driver.release?.({ epoch: progress.epoch, step: progress.step });
  }

  private remember(progress: { epoch: number; step: number; metrics: Metrics }): void {
    this.metricsAt.set(key(progress), progress.metrics);
    // Only recent positions can still be saved; keep the map small.
    if (this.metricsAt.size > 64) this.metricsAt.delete(this.metricsAt.keys().next().value as string);
  }

  private async append(decisions: Decision[]): Promise<RecordedDecision[]> {
    const run = this.options.run;
    const inputs = decisions.map((d) => ({ stream: run, type: DECISION_EVENT[d.kind], data: { ...d, run: d.run ?? run } }));
    const { events } = await this.options.ledger.append(inputs, { durable: true });
    return events.map((stored) => {
      const recorded: RecordedDecision = { ...(stored.data as Decision), seq: stored.seq };
      this.recorded.push(recorded);
      this.options.onDecision?.(recorded);
      return recorded;
    });
  }

  private async act(decision: RecordedDecision): Promise<void> {
    const { store, driver } = this.options;
    switch (decision.kind) {
      case 'save':
        return this.save(decision);
      case 'prune':
        if (!decision.checkpoint) return;
        return this.fact(decision, 'prune', () => store.prune(decision.checkpoint as string, { intentSeq: decision.seq, reason: decision.reason }));
      case 'backup':
        if (!decision.checkpoint || !decision.target) return;
        return this.fact(decision, 'backup', () => store.backup(decision.checkpoint as string, decision.target as string, decision.seq));
      case 'stop':
        driver.stop(decision);
        return;
      case 'restore': {
        if (!decision.checkpoint) return;
        // The checkpoint to restore may still be being written.
        await this.options.saves.drain();
        try {
          decision.restoredEpoch = await driver.restore(await store.load(decision.checkpoint, driver.restoreForm?.() ?? 'memory'), decision);
          this.restoresDone++;
        } catch (error) {
          await this.warn(decision.seq, 'restore', error);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Carry out a prune or backup and feed the fact it recorded back in; a failure is a warn decision. */
  private async fact(decision: RecordedDecision, rule: string, action: () => Promise<LedgerEvent | undefined>): Promise<void> {
    let recorded: LedgerEvent | undefined;
    try {
      recorded = await action();
    } catch (error) {
      return this.warn(decision.seq, rule, error);
    }
    if (recorded) await this.process(recorded);
  }

  /**
   * Capture exactly the decided position's state and commit it in the background (one save in flight). A
   * position already committed or being committed is not saved twice: the decision gets that checkpoint, or its
   * own SaveFailed when that save fails.
   */
  private async save(decision: RecordedDecision, given?: WireState): Promise<void> {
    const position = { epoch: decision.epoch ?? 0, step: decision.step ?? 0 };
    const existing = this.saving.get(key(position));
    if (existing) {
      decision.committed = existing.committed;
      existing.joined.push(decision);
      existing.committed.then((id) => (decision.checkpoint = id), () => undefined);
      return;
    }
    const { run, trainer, store, saves, driver } = this.options;
    // Ask for no state while MAX_PENDING_SAVES are pending: until then this position is not released, so a 'hold'
    // trainer keeps it (and waits once it holds maxHeld states) instead of staged files or states piling up here.
    if (!given) await saves.room(MAX_PENDING_SAVES);
    let state: Promise<WireState>;
    if (given) {
      state = Promise.resolve(given);
    } else if (driver.captureFixedOnCall) {
      // The trainer holds that position's state until it has replied: the reply (a big state may take a while to
      // stage) is awaited by the save queue, not by the decisions that follow.
      state = driver.capture(position, decision);
      state.catch(() => undefined);
    } else {
      try {
        state = Promise.resolve(await driver.capture(position, decision));
      } catch (error) {
        return this.saveFailed(decision, position, error);
      }
    }
    const description = driver.describe?.(position);
    const meta = {
      run, epoch: position.epoch, step: position.step, metrics: this.metricsAt.get(key(position)) ?? await this.reportedMetrics(position),
      decisionSeq: decision.seq, ...(decision.labels ? { labels: decision.labels } : {}),
      ...(description !== undefined ? { description } : {}), trainer, backend: driver.backend(),
    };
    const write = saves.enqueue(async () => store.commit(await state, meta));
    const committed = write.then((event) => event.data.checkpoint);
    decision.committed = committed;
    const entry = { committed, joined: [] as RecordedDecision[] };
    this.saving.set(key(position), entry);
    committed.then((id) => (decision.checkpoint = id), () => this.saving.delete(key(position)));
    this.background(write.then(
      (event) => this.queue.run(() => this.process(event)),
      (error) => this.queue.run(() => this.saveFailed(decision, position, error, entry.joined)),
    ));
    if (this.options.waitForSaves) await saves.drain();
  }

  /**
   * The metrics the trainer reported at `position` (its EpochEnded's, else its BatchEnded's), read from the ledger:
   * for a position this processor did not see reported (the policy decided its save while catching up on events
   * an earlier session appended). None reported there: none recorded, never another position's.
   */
  private async reportedMetrics(position: Position): Promise<Metrics> {
    let found: { metrics: Metrics; epochEnd: boolean } | null = null;
    for await (const event of this.options.ledger.read({ stream: this.options.run, types: ['EpochEnded', 'BatchEnded'] })) {
      const d = event.data as { epoch: number; step: number; metrics?: Metrics };
      if (d.epoch !== position.epoch || d.step !== position.step) continue;
      const epochEnd = event.type === 'EpochEnded';
      if (epochEnd || !found?.epochEnd) found = { metrics: d.metrics ?? {}, epochEnd };
    }
    return found?.metrics ?? {};
  }

  /**
   * A save that could not be made: SaveFailed and a warn decision for it and for each decision that joined it,
   * then the failed write's blobs are removed.
   */
  private async saveFailed(decision: RecordedDecision, position: Position, error: unknown, joined: RecordedDecision[] = []): Promise<void> {
    const run = this.options.run;
    const code = hasCode(error) ? error.code : 'ERROR';
    const reason = `save of epoch ${position.epoch}, step ${position.step} failed: ${code}: ${(error as Error)?.message ?? String(error)}`;
    const inputs: EventInput[] = [];
    const warnings: Decision[] = [];
    for (const d of [decision, ...joined]) {
      const failed: SaveFailed = { run, decisionSeq: d.seq, epoch: position.epoch, step: position.step, code, reason };
      const warning: Decision = { kind: 'warn', causeSeq: d.seq, rule: 'save', run, epoch: position.epoch, step: position.step, reason };
      warnings.push(warning);
      inputs.push({ stream: run, type: DECISION_EVENT.warn, data: warning }, { stream: run, type: 'SaveFailed', data: failed });
    }
    const { events } = await this.options.ledger.append(inputs, { durable: true });
    warnings.forEach((warning, i) => {
      const recorded: RecordedDecision = { ...warning, seq: events[2 * i].seq };
      this.recorded.push(recorded);
      this.options.onDecision?.(recorded);
    });
    if (code.startsWith('STORE_')) await this.options.saves.enqueue(() => this.options.store.removeOrphans()).catch(() => undefined);
  }

  private async warn(causeSeq: number, rule: string, error: unknown): Promise<void> {
    const code = hasCode(error) ? error.code : 'ERROR';
    await this.append([{ kind: 'warn', causeSeq, rule, run: this.options.run, reason: `${rule} failed: ${code}: ${(error as Error)?.message ?? String(error)}` }]);
  }

  /** Work finishing outside the caller's await: its error is kept for the driver, never an unhandled rejection. */
  private background(work: Promise<unknown>): void {
    work.catch((error) => {
      this.failure ??= error;
      this.options.onError?.(error);
    });
  }
}
