/**
 * tfjs hands callbacks `logs` whose values may still be scalar tensors (UnresolvedLogs). The ledger wants plain
 * numbers, so this reads them without mutating or disposing what tfjs still owns.
 */
import type { Metrics } from '../../events.js';

interface ScalarLike { dataSync(): ArrayLike<number>; data(): Promise<ArrayLike<number>> }

/** Keys tfjs puts in batch logs that are not metrics. */
const NOT_METRICS = new Set(['batch', 'size']);

/**
 * Resolve tfjs logs to `{name: number}`; non-numeric entries and the `batch`/`size` bookkeeping keys are dropped.
 *
 * @example await resolveLogs({ loss: tf.scalar(0.5), batch: 3 }) // { loss: 0.5 }
 */
export async function resolveLogs(logs: Record<string, unknown> | undefined): Promise<Metrics> {
  const metrics: Metrics = {};
  if (!logs) return metrics;
  for (const [key, value] of Object.entries(logs)) {
    if (NOT_METRICS.has(key)) continue;
    if (typeof value === 'number') metrics[key] = value;
    else if (isScalarLike(value)) metrics[key] = (await value.data())[0];
  }
  return metrics;
}

function isScalarLike(value: unknown): value is ScalarLike {
  return typeof value === 'object' && value !== null && typeof (value as ScalarLike).data === 'function';
}
