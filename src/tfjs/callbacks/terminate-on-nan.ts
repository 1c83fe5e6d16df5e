/**
 * Keras's TerminateOnNaN for tfjs `model.fit`: training stops at the first batch (or epoch) whose `loss` is NaN
 * or ±Infinity. The stop is the policy's `terminateOnNaN` rule, decided and recorded (`StopDecided`, with the
 * value and the batch) like every other decision; each batch end is a `BatchEnded` event, since any of them may be
 * the one.
 */
import { terminatingMessage } from './keras-messages.js';
import { DEFAULT_DIR, LedgerCallback } from './ledger-callback.js';
import type { RecordedDecision, StepOutcome } from './participant.js';

export interface TerminateOnNaNArgs {
  /** The ckpt directory (ledger + objects). Default `./checkpoints`. */
  dir?: string;
  /** Where Keras's line goes (it always prints one). Default console.log. */
  log?: (line: string) => void;
}

/**
 * Stop `fit` when the loss becomes NaN or infinite.
 * @example
 *   await model.fit(xs, ys, { epochs: 10, callbacks: [new TerminateOnNaN()] });
 *   // Batch 11: Invalid loss, terminating training
 */
export class TerminateOnNaN extends LedgerCallback {
  /** The stop decision, when the loss became invalid. */
  stopped: RecordedDecision | null = null;
  private readonly log: (line: string) => void;

  constructor(args: TerminateOnNaNArgs = {}) {
    super(args.dir ?? DEFAULT_DIR, {
      kind: 'TerminateOnNaN',
      // No monitor of its own: with other callbacks it must not add `loss` to what is best or kept.
      policy: { source: 'TerminateOnNaN', monitors: [], saves: false, terminateOnNaN: true },
      batchEvery: 1,
    });
    this.log = args.log ?? ((line) => console.log(line));
  }

  override async onTrainBegin(): Promise<void> {
    this.stopped = null;
    await super.onTrainBegin();
  }

  protected override async onOutcome(outcome: StepOutcome): Promise<void> {
    const stop = outcome.decisions.find((d) => d.kind === 'stop' && d.rule === 'terminateOnNaN');
    if (stop && !this.stopped) {
      this.stopped = stop;
      // Keras prints the 0-based batch index.
      if (outcome.batch !== undefined) this.log(terminatingMessage(outcome.batch));
    }
  }
}
