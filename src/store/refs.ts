/**
 * Checkpoint references and what they mean against a catalog, as an ordered list of candidates: the first is
 * the answer; the rest are the fallbacks when it fails verification ("newest of that kind that verifies").
 *
 * Grammar: `ckpt-<n>` | `latest` | `best` | `best:<metric>` | `epoch:<N>` | `<run>/<any of the above but an id>`.
 */
import { CkptError } from '../errors.js';
import { type CatalogEntry, type CatalogState, isBetter, modeOf } from '../projections/catalog.js';

export type CheckpointRef =
  | { kind: 'id'; id: string }
  | { kind: 'latest'; run?: string }
  | { kind: 'best'; metric?: string; run?: string }
  | { kind: 'epoch'; epoch: number; run?: string };

/**
 * Parse a reference string; throws STORE_BAD_REF when it is not one.
 * @example parseRef('run-2/best:val_acc') // { kind: 'best', metric: 'val_acc', run: 'run-2' }
 */
export function parseRef(ref: string): CheckpointRef {
  const text = String(ref ?? '').trim();
  const slash = text.lastIndexOf('/');
  const run = slash > 0 ? text.slice(0, slash) : undefined;
  const rest = slash > 0 ? text.slice(slash + 1) : text;
  if (/^ckpt-\d+$/.test(rest) && run === undefined) return { kind: 'id', id: rest };
  if (rest === 'latest') return { kind: 'latest', run };
  if (rest === 'best') return { kind: 'best', run };
  const best = /^best:(.+)$/.exec(rest);
  if (best) return { kind: 'best', metric: best[1], run };
  const epoch = /^epoch:(\d+)$/.exec(rest);
  if (epoch) return { kind: 'epoch', epoch: Number(epoch[1]), run };
  throw new CkptError('STORE_BAD_REF', `'${text}' is not a checkpoint reference; use ckpt-<n>, latest, best, best:<metric>, epoch:<N> or <run>/latest`);
}

/** The metric plain `best` ranks by: the primary monitor, else val_loss, else loss, else the first metric seen. */
export function defaultMetric(catalog: CatalogState, entries: CatalogEntry[]): string | null {
  if (catalog.primaryMonitor) return catalog.primaryMonitor;
  for (const m of ['val_loss', 'loss']) if (entries.some((e) => typeof e.metrics[m] === 'number')) return m;
  return entries.flatMap((e) => Object.keys(e.metrics))[0] ?? null;
}

/**
 * Kept checkpoints matching a reference, best answer first. An id resolves to itself whatever its status.
 * @example candidates(catalog, parseRef('latest'))[0] === catalog.latest
 */
export function candidates(catalog: CatalogState, ref: CheckpointRef): string[] {
  if (ref.kind === 'id') return catalog.checkpoints[ref.id] ? [ref.id] : [];
  const kept = catalog.order.map((id) => catalog.checkpoints[id]).filter((e) => e.status === 'kept' && (ref.run === undefined || e.run === ref.run));
  const newestFirst = [...kept].reverse();
  if (ref.kind === 'latest') return newestFirst.map((e) => e.id);
  if (ref.kind === 'epoch') return newestFirst.filter((e) => e.epoch === ref.epoch).map((e) => e.id);
  const metric = ref.metric ?? defaultMetric(catalog, kept);
  if (metric === null) return [];
  const mode = modeOf(catalog, metric);
  const ranked = kept.filter((e) => typeof e.metrics[metric] === 'number' && Number.isFinite(e.metrics[metric]));
  // Stable sort over commit order: among equal values the earliest stays first, as Keras keeps the first best.
  ranked.sort((a, b) => (isBetter(a.metrics[metric], b.metrics[metric], mode) ? -1 : isBetter(b.metrics[metric], a.metrics[metric], mode) ? 1 : 0));
  return ranked.map((e) => e.id);
}

/** A reference string in canonical form, for messages. */
export function formatRef(ref: CheckpointRef): string {
  const prefix = 'run' in ref && ref.run ? `${ref.run}/` : '';
  if (ref.kind === 'id') return ref.id;
  if (ref.kind === 'latest') return `${prefix}latest`;
  if (ref.kind === 'epoch') return `${prefix}epoch:${ref.epoch}`;
  return `${prefix}best${ref.metric ? ':' + ref.metric : ''}`;
}
