/** Initial policy state and small pure helpers over it. */
import type { Decision, DecisionKind } from '../events.js';
import type { PolicyConfig, PolicyState, Progress } from './types.js';

/** Fresh progress for a run that starts (or restarts from nothing) at event time `at`. */
export function initProgress(config: PolicyConfig, at: number | null): Progress {
  return {
    epoch: 0,
    step: 0,
    timedSaveAt: at,
    monitors: config.monitors.map(() => ({ best: null, bestEpoch: null, nonFinite: 0 })),
    es: config.earlyStopping ? { best: null, bestEpoch: null, wait: 0 } : null,
    stopped: false,
  };
}

/** The state before any event. */
export function initState(config: PolicyConfig): PolicyState {
  return {
    run: null,
    startedAt: null,
    progress: initProgress(config, null),
    pending: [],
    checkpoints: [],
    archived: [],
    archivedTop: config.monitors.map(() => []),
    latest: null,
    pruning: [],
    pinned: [],
    resumedFrom: null,
    preservedAt: null,
    commits: 0,
    ended: null,
    pendingRestore: null,
    warned: [],
  };
}

/** Build a decision; `extra` adds the numbers. */
export function decision(kind: DecisionKind, causeSeq: number, rule: string, reason: string, extra: Partial<Decision> = {}): Decision {
  return { kind, causeSeq, rule, reason, ...extra };
}

/** "1 epoch" / "5 epochs". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
