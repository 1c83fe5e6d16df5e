/**
 * The kept checkpoint set in two tiers: `checkpoints` (the working set retention judges on every commit, small)
 * and `archived` (milestones kept forever, which may grow with the run). Queries span both tiers.
 */
import { archiveAppend, archiveFind, archiveList, archiveOf } from './archive.js';
import { isBetter } from './mode.js';
import { cloneState } from './state.js';
import type { TrackedCheckpoint, MonitorConfig, PolicyConfig, PolicyState } from './types.js';

/** Every kept checkpoint in commit order. @example keptCheckpoints(state).map((c) => c.id) */
export function keptCheckpoints(state: PolicyState): TrackedCheckpoint[] {
  if (state.archived.length === 0) return state.checkpoints;
  return [...archiveList(state.archived), ...state.checkpoints].sort((a, b) => a.seq - b.seq);
}

/** The milestones kept forever, in commit order. @example archivedCheckpoints(state).map((c) => c.epoch) */
export function archivedCheckpoints(state: PolicyState): TrackedCheckpoint[] {
  return archiveList(state.archived);
}

/** Insert `c` into a best-first list capped at `k` (ties: the earlier commit stays first). */
export function insertTop(top: TrackedCheckpoint[], c: TrackedCheckpoint, i: number, k: number, mode: 'min' | 'max'): TrackedCheckpoint[] {
  const v = c.values[i];
  if (k <= 0 || v === null || !c.healthy) return top;
  let at = top.length;
  while (at > 0 && isBetter(v, top[at - 1].values[i] as number, mode)) at--;
  if (at >= k) return top;
  const next = top.slice();
  next.splice(at, 0, c);
  if (next.length > k) next.pop();
  return next;
}

/** The top `k` of a list by monitor `i`, best first, merged into a copy of `seed` (already sorted). */
export function topOf(list: readonly TrackedCheckpoint[], i: number, k: number, mode: 'min' | 'max', seed: readonly TrackedCheckpoint[] = []): TrackedCheckpoint[] {
  // A local array mutated in place: this runs on every commit and K is small.
  const top: TrackedCheckpoint[] = [];
  const n0 = Math.min(seed.length, k);
  for (let n = 0; n < n0; n++) top.push(seed[n]);
  if (k <= 0) return top;
  for (let n = 0; n < list.length; n++) insertInto(top, list[n], i, k, mode);
  return top;
}

/**
 * Insert `c` into the best-first list `top` (capped at `k`, changed in place) after the values equal to its.
 * Returns the checkpoint that left (the list was full), or null. Ties follow Lightning ModelCheckpoint: a value
 * equal to the k-th is not admitted (`check_monitor_top_k` compares strictly), and when a better one comes the
 * oldest of the checkpoints tied for k-th place leaves (`_update_best_and_save` evicts `kth_best_model_path`,
 * the first of the worst in insertion order).
 */
export function insertInto(top: TrackedCheckpoint[], c: TrackedCheckpoint, i: number, k: number, mode: 'min' | 'max'): TrackedCheckpoint | null {
  const v = c.values[i];
  if (v === null || !c.healthy) return null;
  const min = mode === 'min';
  let at = top.length;
  while (at > 0 && (min ? v < (top[at - 1].values[i] as number) : v > (top[at - 1].values[i] as number))) at--;
  if (at >= k) return null;
  // Shift right by one from `at` (when full, up to the first of the entries tied for last place, which leaves)
  // and put `c` at `at`.
  const full = top.length >= k;
  let end = top.length;
  let dropped: TrackedCheckpoint | null = null;
  if (full) {
    end = k - 1;
    const worst = top[end].values[i];
    while (end > at && top[end - 1].values[i] === worst) end--;
    dropped = top[end];
  } else top.push(c);
  for (; end > at; end--) top[end] = top[end - 1];
  top[at] = c;
  return dropped;
}

/** How many archived bests are remembered per monitor. */
export function archivedTopSize(config: PolicyConfig): number {
  return Math.max(config.keepTopK ?? 1, 1);
}

/** The top `k` kept checkpoints by monitor `i` over both tiers. */
export function topOverall(state: PolicyState, i: number, k: number, mode: 'min' | 'max'): TrackedCheckpoint[] {
  return topOf(state.checkpoints, i, k, mode, state.archivedTop[i] ?? []);
}

/** The best kept, healthy checkpoint by monitor `i` (ties: earliest). */
export function bestOverall(state: PolicyState, i: number, monitor: MonitorConfig): TrackedCheckpoint | undefined {
  return topOverall(state, i, 1, monitor.mode)[0];
}

/** Move a record into the archive (milestone), keeping archivedTop current. */
export function archive(state: PolicyState, record: TrackedCheckpoint, config: PolicyConfig): PolicyState {
  const k = archivedTopSize(config);
  const archivedTop = config.monitors.map((m, i) => insertTop(state.archivedTop[i] ?? [], record, i, k, m.mode));
  const next = cloneState(state);
  next.archived = archiveAppend(state.archived, { ...record, milestone: true });
  next.archivedTop = archivedTop;
  return next;
}

function recomputeArchivedTop(archived: TrackedCheckpoint[], config: PolicyConfig): TrackedCheckpoint[][] {
  const k = archivedTopSize(config);
  return config.monitors.map((m, i) => topOf(archived, i, k, m.mode));
}

/** Find a kept checkpoint by id in either tier. */
export function findKept(state: PolicyState, id: string): TrackedCheckpoint | undefined {
  return state.checkpoints.find((c) => c.id === id) ?? archiveFind(state.archived, id);
}

/** Replace (or with `null`, remove) a kept checkpoint by id in either tier. */
export function updateKept(state: PolicyState, id: string, config: PolicyConfig, change: (c: TrackedCheckpoint) => TrackedCheckpoint | null): PolicyState {
  let next = state;
  const wi = state.checkpoints.findIndex((c) => c.id === id);
  if (wi >= 0) {
    const updated = change(state.checkpoints[wi]);
    const checkpoints = state.checkpoints.slice();
    if (updated) checkpoints[wi] = updated;
    else checkpoints.splice(wi, 1);
    next = { ...state, checkpoints };
  } else {
    // Rare (a milestone corrupted, verified, backed up or pruned by hand): rebuild the archive.
    const archived = archiveList(state.archived);
    const ai = archived.findIndex((c) => c.id === id);
    if (ai < 0) return state;
    const updated = change(archived[ai]);
    if (updated) archived[ai] = updated;
    else archived.splice(ai, 1);
    next = { ...state, archived: archiveOf(archived), archivedTop: recomputeArchivedTop(archived, config) };
  }
  if (next.latest === id && !findKept(next, id)) {
    const all = keptCheckpoints(next);
    next = { ...next, latest: all.length ? all[all.length - 1].id : null };
  }
  return next;
}

/** Newest kept, healthy checkpoint of `epoch` (the restore target for an early stop). */
export function checkpointOfEpoch(state: PolicyState, epoch: number): TrackedCheckpoint | undefined {
  const all = keptCheckpoints(state);
  for (let i = all.length - 1; i >= 0; i--) {
    const c = all[i];
    if (c.epoch === epoch && c.healthy) return c;
  }
  return undefined;
}
