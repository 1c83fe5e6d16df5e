/**
 * Checkpoint facts → state (commits, prunes, pins, corruption) and the decisions they trigger: retention
 * prunes, backups and a restore that was waiting for its checkpoint.
 */
import type { CheckpointCommitted, Decision } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { restoreDecision } from './early-stopping.js';
import { sweep } from './retention.js';
import { appendToTops } from './tops.js';
import { append, cloneState, decision, sameId } from './state.js';
import { formatValue } from './mode.js';
import { archive, bestOverall, findKept, updateKept } from './tracked.js';
import type { TrackedCheckpoint, PolicyConfig, PolicyPendingSave, PolicyState } from './types.js';

type Result = { state: PolicyState; decisions: Decision[] };

/** Scratch for onCommitted (reused, never escapes a call). */
const VALUES: (number | null)[] = [];

/**
 * A checkpoint became visible: track it, finish a waiting restore, back it up if configured, prune what left
 * retention.
 * @example onCommitted(state, commitEvent, parsePolicyConfig('normal')).decisions.filter((d) => d.kind === 'prune')
 */
export function onCommitted(state: PolicyState, event: LedgerEvent<CheckpointCommitted>, config: PolicyConfig): Result {
  const data = event.data;
  if (state.run !== null && data.run !== state.run) return { state, decisions: [] };
  if (state.latest === data.checkpoint) return { state, decisions: [] };
  // Plain loops, no closures: this runs on every commit (and tsx wraps named closures in defineProperty).
  const live = state.checkpoints;
  for (let j = 0; j < live.length; j++) if (sameId(live[j].id, data.checkpoint)) return { state, decisions: [] };
  let matched: PolicyPendingSave | undefined;
  for (let j = 0; j < state.pending.length; j++) {
    const p = state.pending[j];
    if (p.epoch === data.epoch && p.step === data.step) { matched = p; break; }
  }
  const metrics = data.metrics;
  // Written by index into a scratch list and copied: an exact-size array (one grown by push has room for 17).
  const scratch = VALUES;
  const m = config.monitors.length;
  for (let i = 0; i < m; i++) {
    const v = metrics?.[config.monitors[i].metric];
    scratch[i] = v !== undefined && Number.isFinite(v) ? v : null;
  }
  const values = scratch.slice(0, m);
  const record: TrackedCheckpoint = {
    id: data.checkpoint,
    epoch: data.epoch,
    step: data.step,
    at: event.at,
    seq: event.seq,
    values,
    shown: formatValue(values.length > 0 ? values[0] : null),
    labels: data.labels ?? matched?.labels ?? [],
    healthy: true,
    milestone: false,
    backedUp: false,
    progress: matched ? matched.progress : null,
  };
  // Saves are committed in order: an older pending save that never committed was abandoned.
  const pending = state.pending.length === 0 || (state.pending.length === 1 && matched)
    ? (matched ? [] : state.pending)
    : state.pending.filter((p) => p.step > data.step || (p.step === data.step && p.epoch > data.epoch));
  // A clock that jumped backwards restarts the hour milestones from now (tf.train.CheckpointManager).
  const preservedAt = state.preservedAt === null || event.at < state.preservedAt ? event.at : state.preservedAt;
  // Orbax keep_period: a milestone epoch is kept forever from the start.
  const every = config.keepEveryNEpochs;
  const everySteps = config.keepEveryNSteps;
  const milestone = (every !== null && record.epoch % every === 0) || (everySteps !== null && record.step % everySteps === 0);
  let next = cloneState(state);
  next.pending = pending;
  next.commits = state.commits + 1;
  next.preservedAt = preservedAt;
  next.latest = record.id;
  if (milestone) next = archive(next, record, config);
  // The common path: sweep adds the checkpoint to the working set while building it (one new array). A restore
  // waiting for this epoch and the backup rules must see it there first.
  const restoreWaits = next.pendingRestore !== null && next.pendingRestore.epoch === data.epoch;
  if (!milestone && !restoreWaits && config.backup === null) return sweep(next, config, event.seq, event.at, true, record);
  if (!milestone) {
    next.checkpoints = append(live, record);
    appendToTops(live, next.checkpoints, record, state.archivedTop, config);
  }
  const decisions: Decision[] = [];

  if (next.pendingRestore && next.pendingRestore.epoch === data.epoch) {
    const pr = next.pendingRestore;
    const best = next.progress.es && pr.rule === 'restoreBestWeights' ? next.progress.es.best : record.values[0];
    const r = restoreDecision(next, config, event.seq, data.run, pr.epoch, best, pr.rule);
    if (r.decision) {
      decisions.push(r.decision);
      next = { ...next, pendingRestore: null };
    }
  }
  const backup = backupDecision(next, config, record, event.seq);
  if (backup) {
    decisions.push(backup);
    next = updateKept(next, record.id, config, (c) => ({ ...c, backedUp: true }));
  }
  // `next` is always a fresh copy made above (cloneState / archive / spread / updateKept): sweep may set its fields.
  const swept = sweep(next, config, event.seq, event.at, true);
  if (decisions.length === 0) return swept;
  for (const d of swept.decisions) decisions.push(d);
  return { state: swept.state, decisions };
}

function backupDecision(state: PolicyState, config: PolicyConfig, record: TrackedCheckpoint, seq: number): Decision | null {
  const b = config.backup;
  if (!b) return null;
  const base = { checkpoint: record.id, epoch: record.epoch, step: record.step, target: b.target, ...(state.run ? { run: state.run } : {}) };
  if (b.onBest) {
    for (let i = 0; i < config.monitors.length; i++) {
      const m = config.monitors[i];
      if (bestOverall(state, i, m)?.id === record.id) {
        return decision('backup', seq, 'backupOnBest', `${record.id} is the best by ${m.metric}; backing it up to ${b.target}`,
          { ...base, monitor: m.metric, value: record.values[i] });
      }
    }
  }
  if (b.everyN !== null && state.commits % b.everyN === 0) {
    return decision('backup', seq, 'backupEveryN', `${record.id} is checkpoint #${state.commits}; backing up every ${b.everyN} to ${b.target}`, base);
  }
  if (b.atEnd && state.ended && record.step >= state.ended.step) {
    return decision('backup', seq, 'backupAtEnd', `training ended; backing up the final checkpoint ${record.id} to ${b.target}`, base);
  }
  return null;
}

/** A backup-at-end for the newest checkpoint when training ends without a new save. */
export function backupLatestAtEnd(state: PolicyState, config: PolicyConfig, seq: number): Result {
  const b = config.backup;
  const latest = state.latest === null ? undefined : findKept(state, state.latest);
  if (!b || !b.atEnd || !latest || latest.backedUp || state.pending.length > 0) return { state, decisions: [] };
  const d = decision('backup', seq, 'backupAtEnd', `training ended; backing up the final checkpoint ${latest.id} to ${b.target}`,
    { checkpoint: latest.id, epoch: latest.epoch, step: latest.step, target: b.target, ...(state.run ? { run: state.run } : {}) });
  return { state: updateKept(state, latest.id, config, (c) => ({ ...c, backedUp: true })), decisions: [d] };
}

/** CheckpointPruned: forget it (a no-op when the policy's own prune decision already removed it). */
export function onPruned(state: PolicyState, id: string, config: PolicyConfig): PolicyState {
  const at = state.pruning.indexOf(id);
  if (at >= 0) {
    let pruning: string[];
    if (state.pruning.length === 1) pruning = [];
    else {
      pruning = state.pruning.slice();
      pruning.splice(at, 1);
    }
    const next = cloneState(state);
    next.pruning = pruning;
    return next;
  }
  const next = updateKept(state, id, config, () => null);
  return next.pinned.includes(id) ? { ...next, pinned: next.pinned.filter((p) => p !== id) } : next;
}

/** CheckpointCorrupted / CheckpointMissing (healthy=false) or CheckpointVerified (healthy=true). */
export function onHealth(state: PolicyState, id: string, healthy: boolean, config: PolicyConfig): PolicyState {
  const c = findKept(state, id);
  if (!c || c.healthy === healthy) return state;
  return updateKept(state, id, config, (r) => ({ ...r, healthy }));
}

export function onPinned(state: PolicyState, id: string): PolicyState {
  return state.pinned.includes(id) ? state : { ...state, pinned: [...state.pinned, id] };
}

/** Unpinning can make a checkpoint prunable at once. */
export function onUnpinned(state: PolicyState, id: string, config: PolicyConfig, seq: number, now: number): Result {
  if (!state.pinned.includes(id)) return { state, decisions: [] };
  return sweep({ ...state, pinned: state.pinned.filter((p) => p !== id) }, config, seq, now);
}
