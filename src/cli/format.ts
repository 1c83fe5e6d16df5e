/**
 * Units for human output: bytes in kB/MB/GB (decimal), durations, metric values, times. Pure.
 */

/**
 * @example formatBytes(1_234_567) // '1.23 MB'
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/**
 * @example formatDuration(850) // '850 ms'
 * @example formatDuration(125_000) // '2m 05s'
 */
export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A metric with 4 decimals (the Keras voice), `-` when absent. */
export function formatMetric(value: number | null | undefined): string {
  if (typeof value !== 'number') return '-';
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(4);
}

/** A signed delta with 4 decimals. */
export function formatDelta(value: number | null | undefined): string {
  if (typeof value !== 'number') return '-';
  return `${value > 0 ? '+' : ''}${value.toFixed(4)}`;
}

/**
 * Local wall-clock time of an event, to the second.
 * @example formatTime(Date.UTC(2026, 10, 22, 6, 25, 1)) // '2026-11-22 06:25:01' (in UTC)
 */
export function formatTime(at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A ratio like the dedupe ratio: `1.93x`. */
export function formatRatio(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}
