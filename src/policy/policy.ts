/** `createPolicy`: the pure reducer `(state, event) → { state, decisions }` over a run's ledger events. */
import type { Decision, EventMap } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { backupLatestAtEnd, onCommitted, onHealth, onPinned, onPruned, onUnpinned } from './checkpoints.js';
import { restoreDecision } from './early-stopping.js';
import { parsePolicyConfig } from './parse.js';
import { onBatchEnded } from './batch-progress.js';
import { onEpochEnded } from './progress.js';
import { withPending } from './triggers.js';
import { decision, initProgress, initState } from './state.js';
import { findKept, keptCheckpoints } from './tracked.js';
import type { PolicyResult, Policy, PolicyConfig, PolicyState, SavePredicate } from './types.js';

const NONE: Decision[] = [];

/**
 * Build a policy from a config (normalized or not). Decision events (SaveDecided, PruneIntended, ...) are the
 * policy's own output and are ignored as input, so the same function works live and as a ledger projection.
 * @example
 *   const policy = createPolicy('normal');
 *   let state = policy.init();
 *   for (const e of events) { const r = policy.decide(state, e); state = r.state; append(r.decisions) }
 */
export function createPolicy(config: PolicyConfig | unknown, options: { predicate?: SavePredicate } = {}): Policy {
  const normalized = isNormalized(config) ? config : parsePolicyConfig(config);
  const predicate = options.predicate;
  return {
    config: normalized,
    init: () => initState(normalized),
    decide: (state, event) => decide(state, event, normalized, predicate),
  };
}

/** A config as parsePolicyConfig returns it today; one recorded by an older version (fewer keys) is parsed again. */
function isNormalized(config: unknown): config is PolicyConfig {
  const c = config as PolicyConfig | null;
  return typeof c === 'object' && c !== null && Array.isArray(c.monitors) && typeof c.saveBestOnly === 'boolean' &&
    'keepEveryNHours' in c && 'restoreBestAtEnd' in c && 'minStepsBetweenSaves' in c && 'keepEveryNSteps' in c &&
    c.monitors.every((m) => m.mode === 'min' || m.mode === 'max');
}

function decide(state: PolicyState, event: LedgerEvent, config: PolicyConfig, predicate: SavePredicate | undefined): PolicyResult {
  switch (event.type) {
    case 'EpochEnded':
      return onEpochEnded(state, event as LedgerEvent<EventMap['EpochEnded']>, config, predicate);
    case 'BatchEnded':
      return onBatchEnded(state, event as LedgerEvent<EventMap['BatchEnded']>, config, predicate);
    case 'CheckpointCommitted':
      return onCommitted(state, event as LedgerEvent<EventMap['CheckpointCommitted']>, config);
    case 'CheckpointPruned':
      return { state: onPruned(state, (event.data as EventMap['CheckpointPruned']).checkpoint, config), decisions: NONE };
    case 'CheckpointCorrupted':
    case 'CheckpointMissing':
      return { state: onHealth(state, (event.data as { checkpoint: string }).checkpoint, false, config), decisions: NONE };
    case 'CheckpointVerified':
      return { state: onHealth(state, (event.data as { checkpoint: string }).checkpoint, true, config), decisions: NONE };
    case 'CheckpointPinned':
      return { state: onPinned(state, (event.data as EventMap['CheckpointPinned']).checkpoint), decisions: NONE };
    case 'CheckpointUnpinned':
      return onUnpinned(state, (event.data as EventMap['CheckpointUnpinned']).checkpoint, config, event.seq, event.at);
    case 'RunStarted': {
      const data = event.data as EventMap['RunStarted'];
      return { state: { ...state, run: data.run, startedAt: event.at, preservedAt: event.at, progress: initProgress(config, event.at) }, decisions: NONE };
    }
    case 'RunResumed':
      return { state: onResumed(state, event as LedgerEvent<EventMap['RunResumed']>, config), decisions: NONE };
    case 'TrainingEnded':
      return onTrainingEnded(state, event as LedgerEvent<EventMap['TrainingEnded']>, config);
    default:
      return { state, decisions: NONE };
  }
}

/**
 * A resumed run repeats the epochs after its checkpoint: roll training progress (bests, early-stopping
 * counter) back to what it was when that checkpoint was saved, so a re-run epoch is judged exactly as before.
 */
function onResumed(state: PolicyState, event: LedgerEvent<EventMap['RunResumed']>, config: PolicyConfig): PolicyState {
  const from = event.data.fromCheckpoint;
  const record = from === null ? undefined : findKept(state, from);
  const base = from === null ? initProgress(config, event.at) : record?.progress ?? state.progress;
  return {
    ...state,
    run: state.run ?? event.data.run,
    resumedFrom: from,
    // tf.train.CheckpointManager.__init__: a clock behind the last preserved time restarts the milestones from now.
    preservedAt: state.preservedAt !== null && event.at < state.preservedAt ? event.at : state.preservedAt,
    progress: { ...base, epoch: event.data.epoch, step: event.data.step, timedSaveAt: event.at, stopped: false },
    pending: [],
    pendingRestore: null,
    ended: null,
  };
}

function onTrainingEnded(state: PolicyState, event: LedgerEvent<EventMap['TrainingEnded']>, config: PolicyConfig): PolicyResult {
  const { epoch, step, reason, run } = event.data;
  let next: PolicyState = { ...state, ended: { reason, epoch, step } };
  const decisions: Decision[] = [];
  if (config.saveLast === true) {
    const saved = keptCheckpoints(state).find((c) => c.step === step && c.epoch === epoch);
    const pending = state.pending.some((p) => p.step === step && p.epoch === epoch);
    if (saved || pending) {
      decisions.push(decision('skip', event.seq, 'saveLast', `training ended (${reason}) at epoch ${epoch}; ${saved ? saved.id : 'its save'} already holds step ${step}`, { run, epoch, step }));
    } else {
      const labels = ['last'];
      decisions.push(decision('save', event.seq, 'saveLast', `training ended (${reason}) at epoch ${epoch}, saving last checkpoint`, { run, epoch, step, labels }));
      next = { ...next, pending: withPending(next.pending, { epoch, step, causeSeq: event.seq, labels, progress: next.progress }) };
    }
  }
  // Keras 3 EarlyStopping restores the best weights in on_train_end however training ended; ckpt's own early
  // stop already decided that restore with its stop.
  const es = config.earlyStopping;
  const esProgress = state.progress.es;
  // Early stopping stopped the run (whatever reason the trainer then reports): its restore went with the stop.
  const esStopped = es !== null && esProgress !== null && state.progress.stopped && esProgress.wait >= Math.max(es.patience, 1);
  const restoreBest = es !== null && es.restoreBestWeights && esProgress !== null && esProgress.bestEpoch !== null;
  if (!state.pendingRestore && !(restoreBest && esStopped)) {
    const restored = restoreBest
      ? restoreAtEnd(next, config, event.seq, run, esProgress!.bestEpoch!, esProgress!.best, 'restoreBestWeights')
      : config.restoreBestAtEnd
        ? restoreAtEnd(next, config, event.seq, run, next.progress.monitors[0].bestEpoch, next.progress.monitors[0].best, 'restoreBestAtEnd')
        : null;
    if (restored) {
      decisions.push(...restored.decisions);
      next = restored.state;
    }
  }
  const backup = backupLatestAtEnd(next, config, event.seq);
  return { state: backup.state, decisions: [...decisions, ...backup.decisions] };
}

/**
 * Restore `epoch` (the best) at the end of training: Keras `restore_best_weights` (early-stopping monitor) or HF
 * `load_best_model_at_end` (first monitor). Waits for the checkpoint when its save is still in flight.
 */
function restoreAtEnd(state: PolicyState, config: PolicyConfig, seq: number, run: string, epoch: number | null, best: number | null, rule: string): { state: PolicyState; decisions: Decision[] } {
  if (epoch === null) return { state, decisions: [] };
  const r = restoreDecision(state, config, seq, run, epoch, best, rule);
  if (r.decision) return { state, decisions: [r.decision] };
  return { state: { ...state, pendingRestore: { epoch, causeSeq: seq, rule } }, decisions: [] };
}
