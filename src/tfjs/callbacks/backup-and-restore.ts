/**
 * Keras's BackupAndRestore for tfjs `model.fit`: a checkpoint at the end of every epoch in `backupDir`; when a
 * fit is interrupted (kill -9, crash, power cut), the next fit continues the same run from the newest checkpoint
 * that verifies — weights, full optimizer state (Adam's moments and accBeta1/accBeta2, bit-exact), epoch and the
 * history so far.
 *
 * tfjs's fit takes its start epoch as an argument and reads it before any callback runs, so the epoch cannot be
 * changed from inside a callback the way Keras does: ask `await backup.initialEpoch()` and pass it to `fit`.
 * The weights are restored by the callback itself when training begins; a mismatched `initialEpoch` is refused
 * with CALLBACK_INITIAL_EPOCH instead of silently training the wrong epochs.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HistoryEntry } from '../../checkpoint.js';
import { IN_PROCESS_TRAINER } from './fit-run.js';
import { LedgerCallback } from './ledger-callback.js';
import type { StepOutcome } from './participant.js';
import { findResumePoint } from './run-lifecycle.js';
import { leaseWorkspace, releaseWorkspace } from './workspace-pool.js';

export interface BackupAndRestoreArgs {
  /** The ckpt directory holding the backups (its own ledger + objects). Required, as in Keras. */
  backupDir: string;
  /** How many backups to keep. Default 1 (Keras keeps one). */
  keep?: number;
}

/**
 * Make `fit` resumable after any interruption.
 * @example
 *   const backup = new BackupAndRestore({ backupDir: './backup' });
 *   const history = await model.fit(xs, ys, { epochs: 10, initialEpoch: await backup.initialEpoch(), callbacks: [backup] });
 *   history.epoch // [0, 1, ..., 9] even when this process started at epoch 4
 */
export class BackupAndRestore extends LedgerCallback {
  readonly backupDir: string;
  /** The run this fit continued, or null when it started a new one. */
  resumedRun: string | null = null;
  private restoredHistory: HistoryEntry[] = [];

  constructor(args: BackupAndRestoreArgs) {
    if (!args || typeof args.backupDir !== 'string' || args.backupDir === '') {
      throw new TypeError('BackupAndRestore needs { backupDir: <directory> }');
    }
    const keep = args.keep ?? 1;
    super(args.backupDir, {
      kind: 'BackupAndRestore',
      // `loss` is in every fit's logs, so the policy never warns about a missing monitor.
      policy: { source: 'BackupAndRestore', monitors: [{ metric: 'loss', mode: 'min' }], saves: true, everyNEpochs: 1, keepLast: keep },
      resume: true,
      durableAtEpochEnd: true,
    });
    this.backupDir = args.backupDir;
  }

  /**
   * The epoch `fit` must start at: the completed epochs of the newest verified backup of an interrupted run, else 0.
   * @example model.fit(xs, ys, { epochs: 10, initialEpoch: await backup.initialEpoch(), callbacks: [backup] })
   */
  async initialEpoch(): Promise<number> {
    const workspace = await leaseWorkspace(this.backupDir);
    try {
      return (await findResumePoint(workspace, IN_PROCESS_TRAINER))?.epoch ?? 0;
    } finally {
      await releaseWorkspace(this.backupDir);
    }
  }

  /** Epochs restored from the backup when this fit resumed (1-based epochs with their metrics). */
  get restoredEpochs(): readonly HistoryEntry[] {
    return this.restoredHistory;
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    await super.onEpochBegin(epoch);
    this.noteResume();
  }

  /** Once the run started: remember what was restored, before this fit's epochs extend the history. */
  private noteResume(): void {
    const run = this.fitRun;
    if (run && this.resumedRun === null && run.resumed) {
      this.resumedRun = run.run;
      this.restoredHistory = [...run.trainingHistory];
    }
  }

  override async onTrainBegin(): Promise<void> {
    this.resumedRun = null;
    this.restoredHistory = [];
    await super.onTrainBegin();
  }

  /** Put the epochs trained before the interruption in front of tfjs's History, so `fit` returns all of them. */
  protected override async onFinished(_outcome: StepOutcome): Promise<void> {
    this.noteResume();
    const history = (this.model as tf.LayersModel | null)?.history;
    if (!history || this.restoredHistory.length === 0) return;
    const earlier = this.restoredHistory.filter((h) => !history.epoch.includes(h.epoch - 1));
    const keys = new Set([...Object.keys(history.history), ...earlier.flatMap((h) => Object.keys(h.metrics))]);
    for (const key of keys) {
      const before = earlier.map((h) => h.metrics[key] ?? NaN);
      history.history[key] = [...before, ...(history.history[key] ?? history.epoch.map(() => NaN))];
    }
    history.epoch = [...earlier.map((h) => h.epoch - 1), ...history.epoch];
  }
}
