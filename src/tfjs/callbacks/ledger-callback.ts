/**
 * The shared tfjs side of ModelCheckpoint, EarlyStopping and BackupAndRestore: a `tf.Callback` that joins the
 * directory's FitRun when `fit` begins, reports epochs (and sampled batches) to it, hands each callback the
 * outcome to print, and leaves at the end — also when `fit` fails, so the workspace is never left locked.
 *
 * tfjs calls, in order: setParams, setModel, onTrainBegin, (onEpochBegin, (onBatchBegin, onBatchEnd)*,
 * onEpochEnd)*, onTrainEnd. `model.stopTraining = true` is honoured after the current batch / epoch, and fit
 * resets it after onTrainBegin, so a run can only stop from onBatchEnd or onEpochEnd.
 */
import * as tf from '@tensorflow/tfjs';
import type { FitParams, FitRun } from './fit-run.js';
import { abandonFitRun, joinFitRun, leaveFitRun } from './fit-registry.js';
import { resolveLogs } from './logs.js';
import type { Participant, StepOutcome } from './participant.js';

export const DEFAULT_DIR = './checkpoints';

export abstract class LedgerCallback extends tf.Callback {
  protected fitRun?: FitRun;
  private failed = false;
  /** tfjs passes no epoch to onBatchEnd: the 0-based epoch of the latest onEpochBegin. */
  private epochIndex = 0;
  protected constructor(readonly dir: string, protected readonly participant: Participant) {
    super();
  }

  /** Called with what happened at each epoch end (and each sampled batch), after the decisions were carried out. */
  protected async onOutcome(_outcome: StepOutcome): Promise<void> {}

  /** Called after the run recorded its end; `model.history` is final except for tfjs's own syncData. */
  protected async onFinished(_outcome: StepOutcome): Promise<void> {}

  protected get lm(): tf.LayersModel {
    return this.model as tf.LayersModel;
  }

  override async onTrainBegin(): Promise<void> {
    this.failed = false;
    this.epochIndex = 0;
    this.fitRun = await joinFitRun(this.lm, this.dir, this.participant);
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    await this.guard(async (run) => {
      this.epochIndex = epoch;
      await run.start(this.params as unknown as FitParams, epoch);
      run.epochBegan(epoch);
    });
  }

  override async onBatchEnd(batch: number, logs?: tf.Logs): Promise<void> {
    await this.guard(async (run) => {
      run.batchSeen(batch);
      if (!this.participant.batchEvery) return;
      const pending = run.batchEnded(this.epochIndex, batch, await resolveLogs(logs));
      if (pending) await this.onOutcome(await pending);
    });
  }

  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    await this.guard(async (run) => {
      await this.onOutcome(await run.epochEnded(epoch, await resolveLogs(logs)));
    });
  }

  override async onTrainEnd(): Promise<void> {
    const run = this.fitRun;
    if (!run) return;
    try {
      if (this.failed) return;
      // A fit with no epoch left to train (resumed after its last epoch) still restores, records and finishes.
      await run.start(this.params as unknown as FitParams, Number(this.params.initialEpoch ?? 0));
      await this.onFinished(await run.trainEnded());
    } finally {
      this.fitRun = undefined;
      await leaveFitRun(this.lm, this.dir, this.participant);
    }
  }

  /** Run `work` against the joined run; on failure release the run for every callback (fit will not call onTrainEnd). */
  private async guard(work: (run: FitRun) => Promise<void>): Promise<void> {
    const run = this.fitRun;
    if (!run || this.failed) return;
    try {
      await work(run);
    } catch (error) {
      this.failed = true;
      this.fitRun = undefined;
      await abandonFitRun(this.lm, this.dir).catch(() => undefined);
      throw error;
    }
  }
}
