/**
 * Ending a trainer process once: `exit`, close its stdin, SIGKILL after a bounded wait. Later calls wait for
 * the same exit.
 *
 * @example
 *   const exit = new TrainerExit(trainer, 5_000);
 *   await exit.request(); // exit.requested is now true
 */
import type { TrainerProcess } from './trainer-process.js';

export class TrainerExit {
  private exit: Promise<void> | null = null;

  constructor(private readonly trainer: Pick<TrainerProcess, 'send' | 'endInput' | 'kill' | 'waitForExit'>, private readonly exitMs: number) {}

  /** True once the trainer was asked to exit: its exit is expected, not a crash. */
  get requested(): boolean {
    return this.exit !== null;
  }

  /** Ask the trainer to exit and wait for it (once). */
  request(): Promise<void> {
    this.exit ??= this.run();
    return this.exit;
  }

  private async run(): Promise<void> {
    this.trainer.send({ type: 'exit' });
    this.trainer.endInput();
    const timer = setTimeout(() => this.trainer.kill('SIGKILL'), this.exitMs);
    await this.trainer.waitForExit();
    clearTimeout(timer);
  }
}

/**
 * Whether a policy may still decide a restore after training ended (early stopping's restoreBestWeights, or
 * restoreBestAtEnd, each waiting for the best checkpoint's commit). Only a config that says neither can is
 * trusted: any other policy may.
 * @example mayRestoreAfterTraining({ restoreBestAtEnd: false, earlyStopping: null }) // false
 */
export function mayRestoreAfterTraining(config: Record<string, unknown>): boolean {
  const es = config.earlyStopping as { restoreBestWeights?: unknown } | null | undefined;
  return config.restoreBestAtEnd !== false || (es !== null && (typeof es !== 'object' || es.restoreBestWeights !== false));
}

/**
 * The digest of the weights the loop ended with: the store's own, computed from the bytes, when the newest
 * checkpoint holds exactly done's position; else the trainer's word (done.weightsDigest). `mismatch` says when
 * the trainer's word contradicts the checkpoint's.
 * @example endDigest({ epoch: 5, step: 50, weightsDigest: 'ab…' }, { epoch: 5, step: 50 }, null).digest // 'ab…'
 */
export function endDigest(
  last: { epoch: number; step: number; weightsDigest: string } | null, position: { epoch: number; step: number }, doneDigest: string | null,
): { digest: string | null; mismatch?: string } {
  if (last === null || last.epoch !== position.epoch || last.step !== position.step) return { digest: doneDigest };
  if (doneDigest !== null && doneDigest !== last.weightsDigest) {
    return { digest: last.weightsDigest, mismatch: `the trainer's done digest ${doneDigest.slice(0, 12)} differs from its checkpoint's ${last.weightsDigest.slice(0, 12)} at step ${last.step}; recording the checkpoint's` };
  }
  return { digest: last.weightsDigest };
}
