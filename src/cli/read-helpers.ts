/**
 * Small helpers shared by the read commands: open → compute → close, and the common cells of tables.
 */
import type { CheckpointListRow } from '../views/index.js';
import { formatMetric } from './format.js';
import type { Output } from './output.js';
import { openForRead, type ReadSource } from './source.js';

/**
 * Open `dir` for reading, run `fn`, always close.
 * @example const rows = await withRead(opts.dir, (src) => listCheckpoints(src.state))
 */
export async function withRead<T>(dir: string, fn: (source: ReadSource) => Promise<T> | T): Promise<T> {
  const source = await openForRead(dir);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/** The metric columns worth showing: monitored metrics first, then the usual ones present, at most `max`. */
export function metricColumns(rows: { metrics: Record<string, number>; marks?: string[] }[], max = 4): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  const monitored = rows.flatMap((r) => (r.marks ?? []).filter((m) => m.startsWith('best:')).map((m) => m.slice(5)));
  const preferred = [...monitored, 'val_loss', 'val_acc', 'loss', 'acc'];
  const columns = [...new Set(preferred.filter((m) => present.has(m)))];
  for (const m of [...present].sort()) if (!columns.includes(m)) columns.push(m);
  return columns.slice(0, max);
}

/** A status word, coloured. */
export function statusCell(out: Output, status: string): string {
  const c = out.c;
  switch (status) {
    case 'kept': case 'finished': return c.green(status);
    case 'pruned': return c.dim(status);
    case 'corrupt': case 'crashed': return c.red(status);
    case 'missing': case 'stopped': return c.yellow(status);
    case 'running': return c.cyan(status);
    default: return status;
  }
}

/** `★ best:val_loss, latest` with colour. */
export function marksCell(out: Output, row: Pick<CheckpointListRow, 'marks' | 'pinned'>): string {
  const parts = row.marks.map((m) => (m.startsWith('best') ? out.c.yellow(`★ ${m}`) : out.c.cyan(m)));
  if (row.pinned) parts.push(out.c.magenta('pinned'));
  return parts.join(' ');
}

/** Metric cells for the given columns. */
export function metricCells(metrics: Record<string, number>, columns: string[]): string[] {
  return columns.map((m) => formatMetric(metrics[m]));
}
