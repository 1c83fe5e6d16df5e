/**
 * Delay before restart attempt `attempt` (1-based): exponential from `baseMs`, capped at `maxMs`.
 * @example restartDelayMs(3, 200) // 800
 */
export function restartDelayMs(attempt: number, baseMs = 500, maxMs = 10_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
