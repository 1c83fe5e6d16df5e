/**
 * Retention: keep the union of top-K per monitor (Lightning save_top_k, Orbax BestN), the last N
 * (tf.train.CheckpointManager max_to_keep, Orbax LatestN), every N-th epoch (Orbax keep_period) and one every
 * N hours of run time (keep_checkpoint_every_n_hours). Never prune a current best (per monitor), the latest,
 * the checkpoint the run resumed from, a pinned one, the early-stopping best, or a pending restore target.
 */
import type { Decision } from '../events.js';
import { cloneState, decision, plural } from './state.js';
import { archive } from './tracked.js';
import type { TrackedCheckpoint, PolicyConfig, PolicyState } from './types.js';

/** True when any retention rule is configured (otherwise every checkpoint is kept). */
export function hasRetention(config: PolicyConfig): boolean {
  if (config.keepTopK === -1) return false;
  return config.keepTopK !== null || config.keepLast !== null || config.keepEveryNEpochs !== null || config.keepEveryNHours !== null;
}

/**
 * Decide `prune` for every working-set checkpoint no rule keeps (removing it from the state), and archive
 * checkpoints that become hour milestones. `now` is the causing event's time. `owned`: `state` is a fresh copy
 * the caller made for this event (never seen by anyone else), so its fields may be set in place.
 * @example sweep(state, parsePolicyConfig('normal'), event.seq, event.at).decisions.map((d) => d.checkpoint) // ['ckpt-3']
 */
export function sweep(state: PolicyState, config: PolicyConfig, causeSeq: number, now: number, owned = false): { state: PolicyState; decisions: Decision[] } {
  if (!hasRetention(config)) return { state, decisions: [] };
  const live = state.checkpoints;
  const n = live.length;
  const k = config.keepTopK;
  const monitors = config.monitors;
  // This runs on every commit: mark kept working-set entries by index in a reused scratch array (no per-call
  // lists of kept records, no includes() scans). Tops are computed as in topOverall (archived bests as the seed).
  if (KEEP.length < n) KEEP = new Uint8Array(Math.max(n, KEEP.length * 2));
  const keep = KEEP;
  keep.fill(0, 0, n);
  const useTops = k !== null && k > 0;
  const kk = useTops ? k : 1;
  let top0 = 0;
  for (let i = 0; i < monitors.length; i++) {
    const len = markTop(live, state.archivedTop[i] ?? NO_RECORDS, i, kk, monitors[i].mode === 'min', keep, i === 0 ? TOP0 : null);
    if (i === 0) top0 = len;
  }
  const esEpoch = state.progress.es?.bestEpoch ?? null;
  const restoreEpoch = state.pendingRestore?.epoch ?? null;
  if (esEpoch !== null || restoreEpoch !== null) {
    for (let j = 0; j < n; j++) if (live[j].epoch === esEpoch || live[j].epoch === restoreEpoch) keep[j] = 1;
  }
  if (config.keepLast !== null && config.keepLast > 0) {
    for (let j = Math.max(0, n - config.keepLast); j < n; j++) keep[j] = 1;
  }
  const pinned = state.pinned;
  const resumedFrom = state.resumedFrom;
  const latest = state.latest;
  let all = true;
  for (let j = 0; j < n; j++) {
    if (keep[j] === 1) continue;
    const id = live[j].id;
    if ((latest && id === latest) || (resumedFrom && id === resumedFrom) || (pinned.length > 0 && pinned.includes(id))) keep[j] = 1;
    else all = false;
  }
  if (all) return { state, decisions: [] };

  // The top by the first monitor (for prune reasons): TOP0[0, topLen), a scratch list pruneDecision only reads.
  const topLen = useTops && monitors.length > 0 ? top0 : 0;
  const hours = config.keepEveryNHours;
  let preservedAt = state.preservedAt;
  const kept: TrackedCheckpoint[] = [];
  let milestones: TrackedCheckpoint[] | null = null;
  const decisions: Decision[] = [];
  let pruning = state.pruning;
  for (let j = 0; j < n; j++) {
    const c = live[j];
    if (keep[j] === 1) { kept.push(c); continue; }
    if (hours !== null) {
      // tf.train.CheckpointManager: keep it forever if it is N hours newer than the last one preserved. A
      // checkpoint stamped after `now` (the clock went backwards since) counts as made now, like tf's min().
      const at = Math.min(c.at, now);
      if (preservedAt === null) preservedAt = at;
      if (at - hours * 3_600_000 >= preservedAt) {
        preservedAt = at;
        if (milestones === null) milestones = [];
        milestones.push(c);
        continue;
      }
    }
    decisions.push(pruneDecision(c, config, TOP0, topLen, live, causeSeq, state.run));
    if (decisions.length === 1) pruning = pruning.concat([c.id]);
    else pruning.push(c.id);
  }
  let next = owned ? state : cloneState(state);
  next.checkpoints = kept;
  next.preservedAt = preservedAt;
  next.pruning = pruning;
  if (milestones !== null) for (const c of milestones) next = archive(next, c, config);
  return { state: next, decisions };
}

const NO_RECORDS: TrackedCheckpoint[] = [];
/** Scratch for sweep (module-level, reused, never escapes a call). */
let KEEP = new Uint8Array(64);
const LIVE_VALS: number[] = [];
const LIVE_IDX: number[] = [];
const TOP0: TrackedCheckpoint[] = [];

/**
 * Mark in `keep` the working-set entries of topOf(live, i, k, mode, seed) (best first; ties: the seed, then commit
 * order), and when `recs` is given put that top into it, returning its length. Equivalent to topOf's insertion
 * into a capped list, computed as a stable sort of the (few) live values merged with the already-sorted seed.
 */
function markTop(live: readonly TrackedCheckpoint[], seed: readonly TrackedCheckpoint[], i: number, k: number, min: boolean, keep: Uint8Array, recs: TrackedCheckpoint[] | null): number {
  const lv = LIVE_VALS;
  const li = LIVE_IDX;
  let m = 0;
  for (let j = 0; j < live.length; j++) {
    const c = live[j];
    const v = c.values[i];
    if (v === null || !c.healthy) continue;
    let at = m;
    if (min) { while (at > 0 && v < lv[at - 1]) { lv[at] = lv[at - 1]; li[at] = li[at - 1]; at--; } }
    else { while (at > 0 && v > lv[at - 1]) { lv[at] = lv[at - 1]; li[at] = li[at - 1]; at--; } }
    lv[at] = v;
    li[at] = j;
    m++;
  }
  const ns = seed.length < k ? seed.length : k;
  let s = 0;
  let t = 0;
  let len = 0;
  while (len < k && (s < ns || t < m)) {
    // A live value enters before a seed only when strictly better (topOf inserts after equal values).
    let fromSeed = s < ns;
    if (fromSeed && t < m) {
      const sv = seed[s].values[i] as number;
      fromSeed = min ? !(lv[t] < sv) : !(lv[t] > sv);
    }
    if (fromSeed) {
      if (recs !== null) recs[len] = seed[s];
      s++;
    } else {
      keep[li[t]] = 1;
      if (recs !== null) recs[len] = live[li[t]];
      t++;
    }
    len++;
  }
  return len;
}

/** The last "listed" top (records by identity) and its text: the top rarely changes between commits. */
const LISTED_RECS: TrackedCheckpoint[] = [];
let LISTED_TEXT = '';

function listedTop(top: readonly TrackedCheckpoint[], topLen: number): string {
  let same = LISTED_RECS.length === topLen;
  for (let t = 0; same && t < topLen; t++) same = LISTED_RECS[t] === top[t];
  if (same) return LISTED_TEXT;
  let listed = '';
  for (let t = 0; t < topLen; t++) listed += (listed ? ', ' : '') + top[t].shown[0];
  LISTED_RECS.length = 0;
  for (let t = 0; t < topLen; t++) LISTED_RECS.push(top[t]);
  LISTED_TEXT = listed;
  return listed;
}

function pruneDecision(c: TrackedCheckpoint, config: PolicyConfig, top: readonly TrackedCheckpoint[], topLen: number, live: TrackedCheckpoint[], seq: number, run: string | null): Decision {
  const k = config.keepTopK;
  const value = c.values[0];
  if (k !== null && k > 0 && c.healthy && value !== null) {
    // The common case, built field by field in decision()'s key order (no intermediate object).
    const m = config.monitors[0];
    const lastNote = config.keepLast !== null ? `; not among the last ${config.keepLast}` : '';
    const reason = `${c.id} left the top ${k} by ${m.metric} (${c.shown[0]} ${m.mode === 'min' ? '>' : '<'} ${listedTop(top, topLen)})${lastNote}`;
    const threshold = topLen ? (top[topLen - 1].values[0] as number) : null;
    return run
      ? { kind: 'prune', causeSeq: seq, rule: 'keepTopK', reason, run, epoch: c.epoch, step: c.step, monitor: m.metric, value, threshold, checkpoint: c.id }
      : { kind: 'prune', causeSeq: seq, rule: 'keepTopK', reason, epoch: c.epoch, step: c.step, monitor: m.metric, value, threshold, checkpoint: c.id };
  }
  const numbers: Partial<Decision> = { epoch: c.epoch, step: c.step, checkpoint: c.id };
  if (run) numbers.run = run;
  const lastNote = config.keepLast !== null ? `; not among the last ${config.keepLast}` : '';
  if (k !== null && k >= 0) {
    const m = config.monitors[0];
    numbers.monitor = m.metric;
    numbers.value = value;
    if (k === 0) return decision('prune', seq, 'keepTopK', `${c.id} is not kept: keepTopK is 0${lastNote}`, numbers);
    if (!c.healthy) return decision('prune', seq, 'keepTopK', `${c.id} failed verification; not eligible for the top ${k} by ${m.metric}${lastNote}`, numbers);
    if (value === null) return decision('prune', seq, 'keepTopK', `${c.id} has no finite ${m.metric}; not in the top ${k}${lastNote}`, numbers);
    numbers.threshold = topLen ? (top[topLen - 1].values[0] as number) : null;
    const sign = m.mode === 'min' ? '>' : '<';
    return decision('prune', seq, 'keepTopK', `${c.id} left the top ${k} by ${m.metric} (${c.shown[0]} ${sign} ${listedTop(top, topLen)})${lastNote}`, numbers);
  }
  const base = numbers;
  if (config.keepLast !== null) {
    const ids = live.slice(Math.max(0, live.length - config.keepLast)).map((l) => l.id).join(', ');
    return decision('prune', seq, 'keepLast', `${c.id} left the last ${config.keepLast} (${ids || 'none'})`, base);
  }
  const rules: string[] = [];
  if (config.keepEveryNEpochs !== null) rules.push(`every ${plural(config.keepEveryNEpochs, 'epoch')}`);
  if (config.keepEveryNHours !== null) rules.push(`one every ${config.keepEveryNHours} h`);
  return decision('prune', seq, config.keepEveryNEpochs !== null ? 'keepEveryNEpochs' : 'keepEveryNHours',
    `${c.id} is not a milestone (${rules.join(', ')})`, base);
}
