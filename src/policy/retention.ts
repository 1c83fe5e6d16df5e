/**
 * Retention: keep the union of top-K per monitor (Lightning save_top_k, Orbax BestN), the last N
 * (tf.train.CheckpointManager max_to_keep, Orbax LatestN), every N-th epoch (Orbax keep_period) and one every
 * N hours of run time (keep_checkpoint_every_n_hours). Never prune a current best (per monitor), the latest,
 * the checkpoint the run resumed from, a pinned one, the early-stopping best, or a pending restore target.
 */
import type { Decision } from '../events.js';
import { judgeAll, judgeChanged, judgeFor, KEEP, rememberSwept, sweptAllOf } from './keep.js';
import { pruneDecision } from './prune-reason.js';
import { append, cloneState } from './state.js';
import { addToTops, computeTops, rememberedTops, rememberTops } from './tops.js';
import { archive } from './tracked.js';
import type { TrackedCheckpoint, PolicyConfig, PolicyState } from './types.js';

/**
 * True when a rule can let a checkpoint go: top-K or last-N. The milestone rules only keep what those let go, so
 * alone they keep everything (tf.train.CheckpointManager._sweep deletes nothing without max_to_keep; Orbax's
 * keep_period / keep_time_interval are unioned with LatestN(max_to_keep=None), which keeps all).
 */
export function hasRetention(config: PolicyConfig): boolean {
  if (config.keepTopK === -1) return false;
  return config.keepTopK !== null || config.keepLast !== null;
}

/**
 * Decide `prune` for every working-set checkpoint no rule keeps (removing it from the state), and archive
 * checkpoints that become hour milestones. `now` is the causing event's time. `owned`: `state` is a fresh copy
 * the caller made for this event (never seen by anyone else), so its fields may be set in place. `added`: a
 * just-committed checkpoint that joins the working set at its end (requires `owned`); sweep adds it while
 * building the new working set, so a commit makes one new array instead of two.
 * @example sweep(state, parsePolicyConfig('normal'), event.seq, event.at).decisions.map((d) => d.checkpoint) // ['ckpt-3']
 */
export function sweep(state: PolicyState, config: PolicyConfig, causeSeq: number, now: number, owned = false, added: TrackedCheckpoint | null = null): { state: PolicyState; decisions: Decision[] } {
  if (!hasRetention(config)) {
    if (added !== null) state.checkpoints = append(state.checkpoints, added);
    return { state, decisions: [] };
  }
  // The working set is `live`, then `added` if any: entry j is live[j] for j < n, else `added`.
  const live = state.checkpoints;
  const n = live.length;
  const total = added === null ? n : n + 1;
  const j0 = judgeFor(state, config, total);
  const remembered = rememberedTops(live, state.archivedTop, config);
  // Only when the last sweep left `live` all kept under the same protections can this one judge just the changes.
  const incremental = remembered !== null && added !== null && sweptAllOf(live, j0);
  const tops = remembered ?? computeTops(live, state.archivedTop, config);
  const dropped = added !== null ? addToTops(tops, added, config, DROPPED) : 0;
  j0.tops = tops;
  const all = incremental ? judgeChanged(live, added as TrackedCheckpoint, DROPPED, dropped, j0) : judgeAll(live, added, j0);
  if (all) {
    if (added === null) return { state, decisions: [] };
    const grown = append(live, added);
    rememberTops(tops, grown, state.archivedTop, config);
    rememberSwept(grown, j0, added);
    state.checkpoints = grown;
    return { state, decisions: [] };
  }

  // The top by the first monitor (for prune reasons).
  const top0 = tops.length > 0 ? tops[0] : NO_RECORDS;
  const topLen = config.keepTopK !== null && config.keepTopK > 0 ? top0.length : 0;
  const hours = config.keepEveryNHours;
  const keep = KEEP;
  let preservedAt = state.preservedAt;
  // Kept entries go to a scratch list (by count: no clearing) copied at the end into an exact-size array.
  const scratch = KEPT;
  let keptCount = 0;
  let milestones: TrackedCheckpoint[] | null = null;
  let decisions: Decision[] | null = null;
  let pruning = state.pruning;
  for (let j = 0; j < total; j++) {
    const c = j < n ? live[j] : added as TrackedCheckpoint;
    if (keep[j] === 1) { scratch[keptCount++] = c; continue; }
    if (hours !== null) {
      // tf.train.CheckpointManager: keep it forever if it is N hours newer than the last one preserved. A
      // checkpoint stamped after `now` (the clock went backwards since) is kept forever too: tf "errs on the side
      // of keeping" (checkpoint_management_test.py testClockReset).
      const at = c.at;
      if (preservedAt === null) preservedAt = at;
      if (at > now || at - hours * 3_600_000 >= preservedAt) {
        if (at <= now) preservedAt = at;
        if (milestones === null) milestones = [];
        milestones.push(c);
        continue;
      }
    }
    const d = pruneDecision(c, config, top0, topLen, live, added, causeSeq, state.run);
    // The first prune copies `pruning` (it belongs to the input state); later ones add to that copy.
    if (decisions === null) {
      decisions = [d];
      pruning = append(pruning, c.id);
    } else {
      decisions.push(d);
      pruning.push(c.id);
    }
  }
  const kept = scratch.slice(0, keptCount);
  let next = owned ? state : cloneState(state);
  next.checkpoints = kept;
  next.preservedAt = preservedAt;
  next.pruning = pruning;
  // What left the working set ranked below every top, so the tops stay valid unless milestones join the seed.
  if (milestones === null) {
    rememberTops(tops, kept, state.archivedTop, config);
    if (added !== null) rememberSwept(kept, j0, added);
  } else {
    for (const c of milestones) next = archive(next, c, config);
  }
  return { state: next, decisions: decisions ?? [] };
}

/** Scratch for sweep (module-level, reused, never escapes a call). */
const KEPT: TrackedCheckpoint[] = [];
const DROPPED: TrackedCheckpoint[] = [];
const NO_RECORDS: TrackedCheckpoint[] = [];
