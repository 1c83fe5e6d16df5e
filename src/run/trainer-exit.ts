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
