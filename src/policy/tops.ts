/**
 * Retention's tops: per monitor, the best `kk` checkpoints over the archived bests (the seed, which wins ties) and
 * the working set (ties: commit order), as `topOf` defines them. Retention needs them on every commit, and a
 * commit only adds one checkpoint to the working set, so instead of re-ranking the whole working set each
 * time, the tops of the last working set are remembered and the new checkpoint is inserted into them (O(K)).
 *
 * The memo is a cache of a pure function, invisible in results: it is keyed by the identity of its inputs (the
 * working-set array, the archivedTop array, the config), which are never changed once in a state (every change
 * makes new arrays and new records), so a hit is always exact. Anything else — health changes, removals, an
 * archived milestone, a snapshot restored from disk, another policy in between — misses and recomputes. The
 * memo and its lists are private to this module and updated in place (no allocation per commit); callers only
 * read the lists, and only until their next call here.
 */
import { insertInto, topOf } from './tracked.js';
import type { PolicyConfig, TrackedCheckpoint } from './types.js';

type Memo = {
  config: PolicyConfig | null;
  /** The working set `tops` belong to; null while they belong to one not built yet (see addToTops). */
  live: readonly TrackedCheckpoint[] | null;
  archivedTop: readonly TrackedCheckpoint[][] | null;
  tops: TrackedCheckpoint[][];
};

/** The one remembered result (the hot path is one policy folding one run). */
const MEMO: Memo = { config: null, live: null, archivedTop: null, tops: [] };

const NO_RECORDS: TrackedCheckpoint[] = [];

/** How many checkpoints each top holds: keepTopK, or 1 (the current best is always protected). */
export function topSize(config: PolicyConfig): number {
  const k = config.keepTopK;
  return k !== null && k > 0 ? k : 1;
}

/** Per monitor, the top `topSize(config)` of `archivedTop[i]` ∪ `live` (best first) if remembered, else null. */
export function rememberedTops(live: readonly TrackedCheckpoint[], archivedTop: readonly TrackedCheckpoint[][], config: PolicyConfig): TrackedCheckpoint[][] | null {
  return MEMO.live === live && MEMO.archivedTop === archivedTop && MEMO.config === config ? MEMO.tops : null;
}

/** Compute (and remember) the tops of `live`. */
export function computeTops(live: readonly TrackedCheckpoint[], archivedTop: readonly TrackedCheckpoint[][], config: PolicyConfig): TrackedCheckpoint[][] {
  const kk = topSize(config);
  const tops: TrackedCheckpoint[][] = [];
  for (let i = 0; i < config.monitors.length; i++) tops.push(topOf(live, i, kk, config.monitors[i].mode, archivedTop[i] ?? NO_RECORDS));
  MEMO.config = config;
  MEMO.live = live;
  MEMO.archivedTop = archivedTop;
  MEMO.tops = tops;
  return tops;
}

/**
 * Insert `added`, a commit after every checkpoint in `tops` (so it ranks after equal values, as in topOf), into
 * the tops just returned by rememberedTops / computeTops; what falls off a full top is written to `dropped` from
 * index 0, and their number returned. The tops then belong to a working set with no array yet: rememberTops
 * names it once it exists.
 */
export function addToTops(tops: TrackedCheckpoint[][], added: TrackedCheckpoint, config: PolicyConfig, dropped: TrackedCheckpoint[]): number {
  const kk = topSize(config);
  let count = 0;
  for (let i = 0; i < config.monitors.length; i++) {
    const out = insertInto(tops[i], added, i, kk, config.monitors[i].mode);
    if (out !== null) dropped[count++] = out;
  }
  if (tops === MEMO.tops) MEMO.live = null;
  return count;
}

/**
 * `live` plus `record` appended became `next` (same archivedTop): if the tops of `live` are remembered, remember
 * those of `next`.
 */
export function appendToTops(live: readonly TrackedCheckpoint[], next: readonly TrackedCheckpoint[], record: TrackedCheckpoint, archivedTop: readonly TrackedCheckpoint[][], config: PolicyConfig): void {
  const tops = rememberedTops(live, archivedTop, config);
  if (tops === null) return;
  const kk = topSize(config);
  for (let i = 0; i < config.monitors.length; i++) insertInto(tops[i], record, i, kk, config.monitors[i].mode);
  MEMO.live = next;
}

/**
 * `tops`, the remembered ones, are also the tops of `kept` over `archivedTop`: the working set they were last
 * made for, minus checkpoints ranked below every top (pruned), plus nothing.
 */
export function rememberTops(tops: readonly TrackedCheckpoint[][], kept: readonly TrackedCheckpoint[], archivedTop: readonly TrackedCheckpoint[][], config: PolicyConfig): void {
  if (tops !== MEMO.tops || MEMO.archivedTop !== archivedTop || MEMO.config !== config) return;
  MEMO.live = kept;
}
