/**
 * What-if replay: run any policy over a recorded run's events and report what it would have decided and kept,
 * beside what the run really kept. Saves are simulated as immediate commits; a save of an epoch the run never
 * saved gets a virtual id and is reported as not available.
 */
import { DECISION_TYPES, type CheckpointCommitted, type Decision, type Metrics } from '../events.js';
import type { LedgerEvent } from '../../ledger/types.js';
import { createPolicy } from './policy.js';
import { keptCheckpoints } from './tracked.js';
import type { PolicyConfig, PolicyState, SavePredicate } from './types.js';

export type WouldSave = {
  epoch: number;
  step: number;
  /** The run's real checkpoint for that epoch/step, when it has one. */
  checkpoint?: string;
  available: boolean;
  /** e.g. `would have saved epoch 7 (not available: the run did not save it)`. */
  note: string;
};

export type ReplayResult = {
  config: PolicyConfig;
  decisions: Decision[];
  /** Checkpoints the policy would have kept at the end (virtual ids `epoch-N` / `epoch-N@step-S` when unsaved). */
  kept: string[];
  /** Checkpoints the run really has: committed and not pruned. */
  actuallyKept: string[];
  wouldSave: WouldSave[];
  state: PolicyState;
};

const SYNTHESIZED = new Set(['CheckpointCommitted', 'CheckpointPruned', ...DECISION_TYPES]);

/**
 * Replay `events` (one run's, or a whole ledger with `run` chosen) under `config`.
 * @example replay(events, { preset: 'short' }).wouldSave.filter((w) => !w.available).map((w) => w.note)
 */
export function replay(events: Iterable<LedgerEvent>, config: unknown, options: { run?: string; predicate?: SavePredicate } = {}): ReplayResult {
  const all = [...events];
  const run = options.run ?? (all.find((e) => e.type === 'RunStarted')?.data as { run?: string } | undefined)?.run ?? all[0]?.stream;
  const realByPoint = new Map<string, LedgerEvent<CheckpointCommitted>[]>();
  const actual: string[] = [];
  for (const e of all) {
    if (e.type === 'CheckpointCommitted') {
      const c = e.data as CheckpointCommitted;
      if (c.run !== run) continue;
      const key = `${c.epoch}:${c.step}`;
      realByPoint.set(key, [...(realByPoint.get(key) ?? []), e as LedgerEvent<CheckpointCommitted>]);
      actual.push(c.checkpoint);
    } else if (e.type === 'CheckpointPruned') {
      const id = (e.data as { checkpoint: string }).checkpoint;
      const at = actual.indexOf(id);
      if (at >= 0) actual.splice(at, 1);
    }
  }

  const policy = createPolicy(config, { predicate: options.predicate });
  let state = policy.init();
  const decisions: Decision[] = [];
  const wouldSave: WouldSave[] = [];
  const epochMetrics = new Map<number, Metrics>();
  let synthetic = 0;

  const feed = (event: LedgerEvent): void => {
    const r = policy.decide(state, event);
    state = r.state;
    for (const d of r.decisions) {
      decisions.push(d);
      if (d.kind === 'save') feed(commitFor(d, event));
      else if (d.kind === 'prune' && d.checkpoint) feed(synth(event, 'CheckpointPruned', { checkpoint: d.checkpoint, intentSeq: event.seq, blobsDeleted: 0, bytesFreed: 0 }));
    }
  };
  const synth = (cause: LedgerEvent, type: string, data: unknown): LedgerEvent =>
    ({ seq: cause.seq, id: `replay-${++synthetic}`, stream: run ?? cause.stream, type, v: 1, at: cause.at, data });
  const commitFor = (d: Decision, cause: LedgerEvent): LedgerEvent => {
    const epoch = d.epoch ?? 0;
    const step = d.step ?? 0;
    const queue = realByPoint.get(`${epoch}:${step}`);
    const realEvent = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    const real = realEvent?.data.checkpoint;
    wouldSave.push(real
      ? { epoch, step, checkpoint: real, available: true, note: `would have saved epoch ${epoch} (${real})` }
      : { epoch, step, available: false, note: `would have saved epoch ${epoch} (not available: the run did not save it)` });
    // The run's own commit (its seq and time) when it has one; otherwise an immediate virtual commit.
    if (realEvent) return realEvent;
    const virtualId = cause.type === 'BatchEnded' ? `epoch-${epoch}@step-${step}` : `epoch-${epoch}`;
    const metrics = cause.type === 'EpochEnded' || cause.type === 'BatchEnded'
      ? (cause.data as { metrics: Metrics }).metrics
      : epochMetrics.get(epoch) ?? {};
    const data: Partial<CheckpointCommitted> = { checkpoint: virtualId, run, epoch, step, metrics, labels: d.labels ?? [] };
    return synth(cause, 'CheckpointCommitted', data);
  };

  for (const e of all) {
    if (SYNTHESIZED.has(e.type)) continue;
    const isFact = e.type.startsWith('Checkpoint');
    if (e.stream !== run && !isFact) continue;
    if (e.type === 'EpochEnded') epochMetrics.set((e.data as { epoch: number }).epoch, (e.data as { metrics: Metrics }).metrics);
    feed(e);
  }
  const kept = keptCheckpoints(state).map((c) => c.id);
  return { config: policy.config, decisions, kept, actuallyKept: actual, wouldSave, state };
}
