/**
 * Retention: keep the union of top-K per monitor (Lightning save_top_k, Orbax BestN), the last N
 * (tf.train.CheckpointManager max_to_keep, Orbax LatestN), every N-th epoch (Orbax keep_period) and one every
 * N hours of run time (keep_checkpoint_every_n_hours). Never prune a current best (per monitor), the latest,
 * the checkpoint the run resumed from, a pinned one, the early-stopping best, or a pending restore target.
 */
import type { Decision } from '../events.js';
import { cloneState, decision, plural } from './state.js';
import { archive, topOverall } from './tracked.js';
import type { TrackedCheckpoint, PolicyConfig, PolicyState } from './types.js';

/** True when any retention rule is configured (otherwise every checkpoint is kept). */
export function hasRetention(config: PolicyConfig): boolean {
  if (config.keepTopK === -1) return false;
  return config.keepTopK !== null || config.keepLast !== null || config.keepEveryNEpochs !== null || config.keepEveryNHours !== null;
}

/**
 * Decide `prune` for every working-set checkpoint no rule keeps (removing it from the state), and archive
 * checkpoints that become hour milestones. `now` is the causing event's time.
 * @example sweep(state, parsePolicyConfig('normal'), event.seq, event.at).decisions.map((d) => d.checkpoint) // ['ckpt-3']
 */
export function sweep(state: PolicyState, config: PolicyConfig, causeSeq: number, now: number): { state: PolicyState; decisions: Decision[] } {
  if (!hasRetention(config)) return { state, decisions: [] };
  const live = state.checkpoints;
  const k = config.keepTopK;
  const tops: TrackedCheckpoint[][] = [];
  if (k !== null && k > 0) {
    for (let i = 0; i < config.monitors.length; i++) tops.push(topOverall(state, i, k, config.monitors[i].mode));
  }
  // Kept records by identity (pointer compares) plus the few ids protected by name: this runs on every commit.
  const keepRecords: TrackedCheckpoint[] = [];
  for (const t of tops) for (const c of t) keepRecords.push(c);
  if (tops.length === 0) {
    for (let i = 0; i < config.monitors.length; i++) {
      const best = topOverall(state, i, 1, config.monitors[i].mode)[0];
      if (best) keepRecords.push(best);
    }
  }
  const esEpoch = state.progress.es?.bestEpoch ?? null;
  const restoreEpoch = state.pendingRestore?.epoch ?? null;
  if (esEpoch !== null || restoreEpoch !== null) {
    for (const c of live) if (c.epoch === esEpoch || c.epoch === restoreEpoch) keepRecords.push(c);
  }
  if (config.keepLast !== null && config.keepLast > 0) {
    for (let i = Math.max(0, live.length - config.keepLast); i < live.length; i++) keepRecords.push(live[i]);
  }
  const keepIds = state.pinned.slice();
  if (state.resumedFrom) keepIds.push(state.resumedFrom);
  if (state.latest) keepIds.push(state.latest);
  const top = tops.length ? tops[0] : [];
  let all = true;
  for (let i = 0; i < live.length && all; i++) all = isKept(live[i], keepRecords, keepIds);
  if (all) return { state, decisions: [] };

  const hours = config.keepEveryNHours;
  let preservedAt = state.preservedAt;
  const kept: TrackedCheckpoint[] = [];
  const milestones: TrackedCheckpoint[] = [];
  const decisions: Decision[] = [];
  for (const c of live) {
    if (isKept(c, keepRecords, keepIds)) { kept.push(c); continue; }
    if (hours !== null) {
      // tf.train.CheckpointManager: keep it forever if it is N hours newer than the last one preserved. A
      // checkpoint stamped after `now` (the clock went backwards since) counts as made now, like tf's min().
      const at = Math.min(c.at, now);
      if (preservedAt === null) preservedAt = at;
      if (at - hours * 3_600_000 >= preservedAt) {
        preservedAt = at;
        milestones.push(c);
        continue;
      }
    }
    decisions.push(pruneDecision(c, config, top, live, causeSeq, state.run));
  }
  let pruning = state.pruning;
  if (decisions.length) {
    pruning = pruning.slice();
    for (const d of decisions) pruning.push(d.checkpoint as string);
  }
  let next = cloneState(state);
  next.checkpoints = kept;
  next.preservedAt = preservedAt;
  next.pruning = pruning;
  for (const c of milestones) next = archive(next, c, config);
  return { state: next, decisions };
}

function isKept(c: TrackedCheckpoint, records: readonly TrackedCheckpoint[], ids: readonly string[]): boolean {
  return records.includes(c) || ids.includes(c.id);
}

function pruneDecision(c: TrackedCheckpoint, config: PolicyConfig, top: TrackedCheckpoint[], live: TrackedCheckpoint[], seq: number, run: string | null): Decision {
  const numbers: Partial<Decision> = { epoch: c.epoch, step: c.step, checkpoint: c.id };
  if (run) numbers.run = run;
  const k = config.keepTopK;
  const lastNote = config.keepLast !== null ? `; not among the last ${config.keepLast}` : '';
  if (k !== null && k >= 0) {
    const m = config.monitors[0];
    const value = c.values[0];
    numbers.monitor = m.metric;
    numbers.value = value;
    if (k === 0) return decision('prune', seq, 'keepTopK', `${c.id} is not kept: keepTopK is 0${lastNote}`, numbers);
    if (!c.healthy) return decision('prune', seq, 'keepTopK', `${c.id} failed verification; not eligible for the top ${k} by ${m.metric}${lastNote}`, numbers);
    if (value === null) return decision('prune', seq, 'keepTopK', `${c.id} has no finite ${m.metric}; not in the top ${k}${lastNote}`, numbers);
    numbers.threshold = top.length ? (top[top.length - 1].values[0] as number) : null;
    const sign = m.mode === 'min' ? '>' : '<';
    let listed = '';
    for (const t of top) listed += (listed ? ', ' : '') + t.shown[0];
    return decision('prune', seq, 'keepTopK', `${c.id} left the top ${k} by ${m.metric} (${c.shown[0]} ${sign} ${listed})${lastNote}`, numbers);
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
