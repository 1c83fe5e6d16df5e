/**
 * Keras's EarlyStopping for tfjs `model.fit`, decided by the ckpt policy reducer and recorded in the ledger.
 * Unlike tfjs's own (which throws "not implemented"), `restoreBestWeights` works: the policy makes sure the best
 * epoch is saved, and on stop decides `restore` of that checkpoint, which is loaded (hash-verified) back into
 * the model before `fit` returns.
 */
import { earlyStoppingMessage, restoringMessage } from './keras-messages.js';
import { DEFAULT_DIR, LedgerCallback } from './ledger-callback.js';
import type { RecordedDecision, StepOutcome } from './participant.js';

export interface EarlyStoppingArgs {
  /** Metric to watch. Default `val_loss`. */
  monitor?: string;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** 1 prints Keras's lines (`Epoch 7: early stopping`). Default 0. */
  verbose?: 0 | 1;
  mode?: 'auto' | 'min' | 'max';
  /** Stop unless the monitor beats this value. */
  baseline?: number;
  /** On stop, load the weights of the best epoch back into the model. Default false. */
  restoreBestWeights?: boolean;
  /** Epochs to wait before counting (warm-up). Default 0. */
  startFromEpoch?: number;
  /** The ckpt directory (ledger + objects). Default `./checkpoints`. */
  dir?: string;
  log?: (line: string) => void;
}

/**
 * Stop `fit` when the monitored metric stops improving; optionally restore the best epoch's weights.
 * @example
 *   const stop = new EarlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true });
 *   await model.fit(xs, ys, { epochs: 100, validationSplit: 0.2, callbacks: [stop] });
 *   stop.stoppedEpoch // 9 (1-based; 0 when training ran to the end)
 */
export class EarlyStopping extends LedgerCallback {
  readonly monitor: string;
  readonly verbose: 0 | 1;
  /** 1-based epoch at which training stopped; 0 when it did not stop early. */
  stoppedEpoch = 0;
  /** 1-based epoch whose weights were restored; 0 when none were. */
  restoredEpoch = 0;
  /** The checkpoint the weights were restored from. */
  restoredFrom: string | null = null;
  readonly decisions: RecordedDecision[] = [];
  private readonly log: (line: string) => void;

  constructor(args: EarlyStoppingArgs = {}) {
    const monitor = args.monitor ?? 'val_loss';
    const mode = args.mode ?? 'auto';
    super(args.dir ?? DEFAULT_DIR, {
      kind: 'EarlyStopping',
      policy: {
        source: 'EarlyStopping',
        monitors: [{ metric: monitor, mode }],
        saves: false,
        earlyStopping: {
          monitor,
          mode,
          patience: args.patience ?? 0,
          minDelta: Math.abs(args.minDelta ?? 0),
          baseline: args.baseline ?? null,
          startFromEpoch: args.startFromEpoch ?? 0,
          restoreBestWeights: args.restoreBestWeights ?? false,
        },
      },
    });
    this.monitor = monitor;
    this.verbose = args.verbose ?? 0;
    this.log = args.log ?? ((line) => console.log(line));
  }

  override async onTrainBegin(): Promise<void> {
    this.stoppedEpoch = 0;
    this.restoredEpoch = 0;
    this.restoredFrom = null;
    await super.onTrainBegin();
  }

  protected override async onOutcome(outcome: StepOutcome): Promise<void> {
    this.decisions.push(...outcome.decisions);
    this.take(outcome);
  }

  protected override async onFinished(outcome: StepOutcome): Promise<void> {
    this.decisions.push(...outcome.decisions);
    this.take(outcome);
  }

  private take(outcome: StepOutcome): void {
    for (const d of outcome.decisions) {
      if (d.kind === 'stop' && this.stoppedEpoch === 0) {
        this.stoppedEpoch = outcome.epoch;
        if (this.verbose) this.log(earlyStoppingMessage(outcome.epoch));
      }
      if (d.kind === 'restore' && d.restoredEpoch !== undefined) {
        this.restoredEpoch = d.restoredEpoch;
        this.restoredFrom = d.checkpoint ?? null;
        if (this.verbose) this.log(restoringMessage(d.restoredEpoch));
      }
    }
  }
}
