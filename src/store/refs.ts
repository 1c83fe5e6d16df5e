/**
 * The one ref resolver: what a checkpoint reference means against the read model (src/projections/catalog.ts).
 * The CLI, the server and the store all call `resolveRef`, so `ckpt show epoch:3` and `ckpt export epoch:3` name
 * the same checkpoint and fail with the same code. Pure: no I/O (loading and verifying are the store's job).
 *
 * Grammar: an id (`ckpt-<n>`, or any id the ledger recorded) | `latest` | `best` | `best:<metric>` | `epoch:<N>` | `<run>/<any of these but an id>`.
 * An id names its checkpoint whatever its status; the other forms consider kept checkpoints only (not pruned,
 * corrupt or missing), and `best` ranks finite values only (NaN and ±Infinity are never best).
 *
 * Failures, one code each: CLI_REF_INVALID (not a ref), CLI_REF_UNKNOWN (nothing by that name / with that
 * metric), POLICY_MODE_UNKNOWN (`best:<m>` for a metric whose direction cannot be told), STORE_CORRUPT (only
 * corrupt or missing checkpoints match), STORE_PRUNED (`epoch:N` whose checkpoints were all pruned).
 */
import { CkptError } from '../errors.js';
import { knownMode } from '../policy/mode.js';
import type { CatalogEntry, CatalogState, MonitorMode } from '../projections/catalog-state.js';

export type CheckpointRef =
  | { kind: 'id'; id: string }
  | { kind: 'latest'; run?: string }
  | { kind: 'best'; metric?: string; run?: string }
  | { kind: 'epoch'; epoch: number; run?: string };

const GRAMMAR = 'refs are an id (ckpt-3), latest, best, best:<metric>, epoch:<N>, or <run>/ before any but an id';

/**
 * Parse a reference string; throws CLI_REF_INVALID when it is not one.
 * @example parseRef('run-2/best:val_acc') // { kind: 'best', metric: 'val_acc', run: 'run-2' }
 */
export function parseRef(ref: string): CheckpointRef {
  const text = String(ref ?? '').trim();
  const slash = text.lastIndexOf('/');
  const run = slash > 0 ? text.slice(0, slash) : undefined;
  const rest = slash > 0 ? text.slice(slash + 1) : text;
  if (/^ckpt-[\w.-]+$/.test(rest) && run === undefined) return { kind: 'id', id: rest };
  if (rest === 'latest') return { kind: 'latest', run };
  if (rest === 'best') return { kind: 'best', run };
  const best = /^best:(.+)$/.exec(rest);
  if (best) return { kind: 'best', metric: best[1], run };
  const epoch = /^epoch:(\d+)$/.exec(rest);
  if (epoch) return { kind: 'epoch', epoch: Number(epoch[1]), run };
  throw new CkptError('CLI_REF_INVALID', `"${text}" is not a checkpoint reference; ${GRAMMAR}`, { details: { ref: text } });
}

/** A reference in canonical form, for messages. @example formatRef({ kind: 'latest', run: 'run-2' }) // 'run-2/latest' */
export function formatRef(ref: CheckpointRef): string {
  if (ref.kind === 'id') return ref.id;
  const prefix = ref.run ? `${ref.run}/` : '';
  if (ref.kind === 'latest') return `${prefix}latest`;
  if (ref.kind === 'epoch') return `${prefix}epoch:${ref.epoch}`;
  return `${prefix}best${ref.metric ? ':' + ref.metric : ''}`;
}

/** Checkpoints in commit order (of one run when given). */
export function checkpointsOf(state: CatalogState, run?: string): CatalogEntry[] {
  return state.order.map((id) => state.checkpoints[id]).filter((c) => run === undefined || c.run === run);
}

/** Kept checkpoints in commit order (of one run when given). */
export function keptOf(state: CatalogState, run?: string): CatalogEntry[] {
  return checkpointsOf(state, run).filter((c) => c.status === 'kept');
}

/**
 * Direction of a metric: the runs' policies first, else the policy's `auto` rule; undefined when unknown.
 * @example modeOf(state, 'val_acc') // 'max'
 */
export function modeOf(state: Pick<CatalogState, 'monitors'>, metric: string): MonitorMode | undefined {
  return Object.hasOwn(state.monitors, metric) ? state.monitors[metric] : knownMode(metric);
}

/** The metric plain `best` means: the newest run's first monitor, else val_loss, else loss, else the first rankable metric. */
export function primaryMonitor(state: CatalogState): string | undefined {
  const named = Object.keys(state.monitors)[0];
  if (named) return named;
  const metrics = [...new Set(state.order.flatMap((id) => Object.keys(state.checkpoints[id].metrics)))];
  for (const candidate of ['val_loss', 'loss']) if (metrics.includes(candidate)) return candidate;
  return metrics.find((m) => knownMode(m) !== undefined);
}

/** True when a metric value can rank: a finite number. NaN and ±Infinity never become best. */
export function isRankable(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Kept checkpoints with a finite `metric`, best first; ties keep commit order (the earlier first, as Keras keeps
 * the first best). Empty when the metric's direction is unknown.
 * @example rankedBy(state, 'val_loss').map((c) => c.id) // ['ckpt-4', 'ckpt-2', ...]
 */
export function rankedBy(state: CatalogState, metric: string, run?: string): CatalogEntry[] {
  const mode = modeOf(state, metric);
  if (!mode) return [];
  const ranked = keptOf(state, run).filter((c) => isRankable(c.metrics[metric]));
  const sign = mode === 'min' ? 1 : -1;
  return ranked.sort((a, b) => sign * (a.metrics[metric] - b.metrics[metric]));
}

/** The best kept checkpoint by `metric` (default: the primary monitor), or undefined. */
export function bestOf(state: CatalogState, metric = primaryMonitor(state), run?: string): CatalogEntry | undefined {
  return metric === undefined ? undefined : rankedBy(state, metric, run)[0];
}

/** The newest kept checkpoint (of one run when given), or undefined. */
export function latestOf(state: CatalogState, run?: string): CatalogEntry | undefined {
  const kept = keptOf(state, run);
  return kept[kept.length - 1];
}

/** The checkpoint a ref means, or undefined (no error detail; see resolveRef). */
export function tryResolveRef(state: CatalogState, ref: string | CheckpointRef): CatalogEntry | undefined {
  try {
    return resolveRef(state, ref);
  } catch {
    return undefined;
  }
}

/**
 * Resolve a reference to one checkpoint of the read model, or throw (codes in the file comment).
 * @example resolveRef(state, 'best:val_acc').id // 'ckpt-5'
 * @example resolveRef(state, 'run-1/epoch:3').epoch // 3
 */
export function resolveRef(state: CatalogState, ref: string | CheckpointRef): CatalogEntry {
  // Any id the ledger recorded is a ref to itself, whatever its spelling.
  if (typeof ref === 'string' && Object.hasOwn(state.checkpoints, ref.trim())) return state.checkpoints[ref.trim()];
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const name = formatRef(parsed);
  if (parsed.kind === 'id') {
    if (Object.hasOwn(state.checkpoints, parsed.id)) return state.checkpoints[parsed.id];
    throw unknown(name, `no checkpoint ${parsed.id}`);
  }
  const run = parsed.run;
  if (run !== undefined && !Object.hasOwn(state.runs, run) && !state.order.some((id) => state.checkpoints[id].run === run)) {
    throw unknown(name, `no run ${run}`);
  }
  const scope = run ? ` of ${run}` : '';
  const all = checkpointsOf(state, run);
  if (parsed.kind === 'latest') {
    const found = latestOf(state, run);
    if (found) return found;
    throw unusable(name, all) ?? unknown(name, `no checkpoint${scope} yet`);
  }
  if (parsed.kind === 'epoch') {
    const ofEpoch = all.filter((c) => c.epoch === parsed.epoch);
    const found = ofEpoch.filter((c) => c.status === 'kept').pop();
    if (found) return found;
    throw unusable(name, ofEpoch) ?? unknown(name, `no checkpoint${scope} was committed at epoch ${parsed.epoch}`);
  }
  const metric = parsed.metric ?? primaryMonitor(state);
  if (metric === undefined) throw unknown(name, `no checkpoint${scope} has a metric to rank by`);
  if (!modeOf(state, metric)) {
    throw new CkptError('POLICY_MODE_UNKNOWN', `cannot tell whether ${metric} should go down or up, so "${name}" ranks nothing; monitor it in the policy with mode "min" or "max"`, { details: { ref: name, metric } });
  }
  const found = rankedBy(state, metric, run)[0];
  if (found) return found;
  const withValue = all.filter((c) => isRankable(c.metrics[metric]));
  const nonFinite = all.filter((c) => c.status === 'kept' && metric in c.metrics && !isRankable(c.metrics[metric]));
  const why = nonFinite.length
    ? `no kept checkpoint${scope} has a finite ${metric} (${nonFinite.slice(0, 3).map((c) => `${c.id}: ${c.metrics[metric]}`).join(', ')}); NaN and ±Infinity are never best`
    : `no kept checkpoint${scope} has ${metric}`;
  throw unusable(name, withValue) ?? unknown(name, why);
}

function unknown(ref: string, why: string): CkptError {
  return new CkptError('CLI_REF_UNKNOWN', `${why}, so nothing matches "${ref}"; list checkpoints with \`ckpt ls --all\``, { details: { ref } });
}

/** Why the checkpoints that would match cannot be used (corrupt/missing, or pruned), or undefined when none exist. */
function unusable(ref: string, matching: CatalogEntry[]): CkptError | undefined {
  const damaged = matching.filter((c) => c.status === 'corrupt' || c.status === 'missing');
  if (damaged.length) {
    const list = damaged.slice(0, 4).map((c) => `${c.id} ${c.status}`).join(', ') + (damaged.length > 4 ? `, … (${damaged.length})` : '');
    return new CkptError('STORE_CORRUPT', `every checkpoint "${ref}" could mean is damaged (${list}); run \`ckpt verify --all\` (it repairs blobs from verified backups), or restore the directory's objects/ from a backup`, { details: { ref, checkpoints: damaged.map((c) => c.id) } });
  }
  const pruned = matching.filter((c) => c.status === 'pruned');
  if (pruned.length) {
    return new CkptError('STORE_PRUNED', `every checkpoint "${ref}" could mean was pruned (${pruned.map((c) => c.id).slice(0, 4).join(', ')}); their history remains: \`ckpt why ${pruned[pruned.length - 1].id}\``, { details: { ref, checkpoints: pruned.map((c) => c.id) } });
  }
  return undefined;
}
