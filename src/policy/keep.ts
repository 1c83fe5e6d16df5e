/**
 * Which working-set checkpoints retention keeps: by a rule (top-K per monitor, last N) or protected (the latest,
 * the resumed-from, pinned, the early-stopping best, a pending restore target). judgeAll judges every entry;
 * after a commit's sweep left the whole working set kept, the next commit's sweep only needs judgeChanged, which
 * re-judges the few entries whose reasons may have lapsed (same marks, without reading every checkpoint).
 * KEEP and JUDGE are scratch reused by every sweep; SWEPT remembers the last commit's sweep, and is only trusted
 * when identity checks prove the working set and its protections are unchanged since (see sweptAllOf).
 */
import { sameId } from './state.js';
import type { PolicyConfig, PolicyState, TrackedCheckpoint } from './types.js';
import { topSize } from './tops.js';

/** What keeps a checkpoint, as of one sweep (besides the retention rules of `config`). */
export type Judge = {
  config: PolicyConfig;
  tops: readonly TrackedCheckpoint[][];
  kk: number;
  /** Index from which the last N are kept (the working set's length when there is no keepLast). */
  lastFrom: number;
  esEpoch: number | null;
  restoreEpoch: number | null;
  latest: string | null;
  resumedFrom: string | null;
  pinned: string[];
};

/** Scratch (module-level, reused, never escapes a sweep). */
const JUDGE: Judge = { config: null as unknown as PolicyConfig, tops: [], kk: 1, lastFrom: 0, esEpoch: null, restoreEpoch: null, latest: null, resumedFrom: null, pinned: [] };
/** KEEP[j] is 1 when entry j of the working set is kept (written by judgeAll / judgeChanged). */
export let KEEP = new Uint8Array(64);

/** The protections of `state` for a working set of `total` entries (a scratch object, valid during one sweep). */
export function judgeFor(state: PolicyState, config: PolicyConfig, total: number): Judge {
  const j = JUDGE;
  j.config = config;
  j.kk = topSize(config);
  j.lastFrom = config.keepLast !== null && config.keepLast > 0 ? total - config.keepLast : total;
  j.esEpoch = state.progress.es?.bestEpoch ?? null;
  j.restoreEpoch = state.pendingRestore?.epoch ?? null;
  j.latest = state.latest;
  j.resumedFrom = state.resumedFrom;
  j.pinned = state.pinned;
  return j;
}

/** Whether entry j of the working set is kept: by a rule, or protected. */
function isKept(c: TrackedCheckpoint, j: number, judge: Judge): boolean {
  const id = c.id;
  return j >= judge.lastFrom || inTops(c, judge.tops, judge.kk, judge.config) || c.epoch === judge.esEpoch || c.epoch === judge.restoreEpoch ||
    (judge.latest !== null && sameId(id, judge.latest)) || (judge.resumedFrom !== null && sameId(id, judge.resumedFrom)) ||
    (judge.pinned.length > 0 && judge.pinned.includes(id));
}

/** Mark KEEP for every entry of live + added; true when all are kept. */
export function judgeAll(live: readonly TrackedCheckpoint[], added: TrackedCheckpoint | null, judge: Judge): boolean {
  const n = live.length;
  const total = added === null ? n : n + 1;
  growKeep(total);
  const keep = KEEP;
  let all = true;
  for (let j = 0; j < total; j++) {
    const kept = isKept(j < n ? live[j] : added as TrackedCheckpoint, j, judge);
    keep[j] = kept ? 1 : 0;
    if (!kept) all = false;
  }
  return all;
}

/**
 * The last sweep (a commit's) left `live` all kept; since then only `added` came, under the same protections.
 * Each entry's reasons to stay then still hold except: the previous latest is no longer the latest, the entry
 * at the start of the last-N window left it, and what `added` pushed out of a top (dropped[0, droppedCount))
 * left that top.
 * Judge just those (and `added`); every other entry stays kept. Same KEEP marks and result as judgeAll.
 */
export function judgeChanged(live: readonly TrackedCheckpoint[], added: TrackedCheckpoint, dropped: readonly TrackedCheckpoint[], droppedCount: number, judge: Judge): boolean {
  growKeep(live.length + 1);
  const keep = KEEP;
  const n = live.length;
  for (let j = 0; j < n; j++) keep[j] = 1;
  let all = isKept(added, n, judge);
  keep[n] = all ? 1 : 0;
  all = judgeAt(live, indexIn(live, SWEPT.latest as TrackedCheckpoint), judge) && all;
  if (judge.lastFrom - 1 < n) all = judgeAt(live, judge.lastFrom - 1, judge) && all;
  for (let d = 0; d < droppedCount; d++) all = judgeAt(live, indexIn(live, dropped[d]), judge) && all;
  return all;
}

function growKeep(size: number): void {
  if (KEEP.length < size) KEEP = new Uint8Array(Math.max(size, KEEP.length * 2));
}

/** Index of `c` in `list` (by identity), searching from the end where recent commits are; -1 if absent. */
function indexIn(list: readonly TrackedCheckpoint[], c: TrackedCheckpoint): number {
  for (let j = list.length - 1; j >= 0; j--) if (list[j] === c) return j;
  return -1;
}

/** Judge live[j] (if j is an index of live) into KEEP; true when kept. */
function judgeAt(live: readonly TrackedCheckpoint[], j: number, judge: Judge): boolean {
  if (j < 0 || j >= live.length) return true;
  const kept = isKept(live[j], j, judge);
  KEEP[j] = kept ? 1 : 0;
  return kept;
}

/** The working set the last commit's sweep left all kept, and the protections it judged under. */
const SWEPT = {
  live: null as readonly TrackedCheckpoint[] | null,
  config: null as PolicyConfig | null,
  /** The checkpoint that was the latest (the one that commit added). */
  latest: null as TrackedCheckpoint | null,
  esEpoch: null as number | null,
  restoreEpoch: null as number | null,
  resumedFrom: null as string | null,
  pinned: null as string[] | null,
};

export function rememberSwept(kept: readonly TrackedCheckpoint[], judge: Judge, added: TrackedCheckpoint): void {
  SWEPT.live = kept;
  SWEPT.config = judge.config;
  SWEPT.latest = added;
  SWEPT.esEpoch = judge.esEpoch;
  SWEPT.restoreEpoch = judge.restoreEpoch;
  SWEPT.resumedFrom = judge.resumedFrom;
  SWEPT.pinned = judge.pinned;
}

/** True when `live` is what the last commit's sweep left, all kept under the protections `judge` has now. */
export function sweptAllOf(live: readonly TrackedCheckpoint[], judge: Judge): boolean {
  return SWEPT.live === live && SWEPT.config === judge.config && SWEPT.latest !== null && SWEPT.esEpoch === judge.esEpoch &&
    SWEPT.restoreEpoch === judge.restoreEpoch && SWEPT.resumedFrom === judge.resumedFrom && SWEPT.pinned === judge.pinned;
}

/**
 * True when `c` is in some monitor's top. A top shorter than kk holds every eligible checkpoint; otherwise its
 * last value is the threshold, and only a tie with it needs a look at the members (ties rank by commit order).
 */
function inTops(c: TrackedCheckpoint, tops: readonly TrackedCheckpoint[][], kk: number, config: PolicyConfig): boolean {
  if (!c.healthy) return false;
  for (let i = 0; i < tops.length; i++) {
    const v = c.values[i];
    if (v === null) continue;
    const top = tops[i];
    const len = top.length;
    if (len < kk) return true;
    const w = top[len - 1].values[i] as number;
    if (config.monitors[i].mode === 'min' ? v < w : v > w) return true;
    if (v === w && top.includes(c)) return true;
  }
  return false;
}

