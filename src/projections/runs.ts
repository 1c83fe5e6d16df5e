/**
 * The runs projection: every run with its status, configuration, attempts, per-epoch history and committed
 * checkpoints, folded from the ledger. A run whose newest lifecycle event is not RunFinished/RunStopped is
 * `running` (or `crashed` once RunCrashed is recorded); the supervisor uses this to resume.
 *
 * @example
 *   const runs = await ledger.register(runsProjection);
 *   const last = latestRun(ledger.state(RUNS_PROJECTION));
 */
import type { LedgerEvent, Projection } from '../../ledger/types.js';
import type { CheckpointCommitted, EpochEnded, Metrics, RunCrashed, RunFinished, RunResumed, RunStarted, RunStopped, TrainingEnded } from '../events.js';

export const RUNS_PROJECTION = 'runs';

export type RunStatus = 'running' | 'crashed' | 'stopped' | 'finished';

export interface RunHistoryEntry { epoch: number; step: number; metrics: Metrics; ms: number; seq: number; at: number }

/** What RunStarted said about the run, plus what later events added. */
export interface RunSummary extends Pick<RunStarted, 'run' | 'trainer' | 'trainerVersion' | 'backend' | 'seed' | 'epochs' | 'batchSize' | 'trainerConfig' | 'policy'> {
  status: RunStatus;
  startedAt: number;
  endedAt: number | null;
  startSeq: number;
  lastSeq: number;
  /** Newest position reported (epoch ended, resumed or finished). */
  epoch: number;
  step: number;
  /** RunCrashed events recorded for this run. */
  crashes: number;
  /** RunResumed events recorded for this run. */
  resumes: number;
  /** One entry per epoch in training order; a resume drops entries past the checkpoint it continues from. */
  history: RunHistoryEntry[];
  /** Checkpoint ids committed by this run, oldest first (pruned ones included; see the catalog for liveness). */
  checkpoints: string[];
  endReason: string | null;
  weightsDigest: string | null;
}

export interface RunsState {
  runs: Record<string, RunSummary>;
  /** Run ids in start order. */
  order: string[];
}

function update(state: RunsState, run: string, change: (r: RunSummary) => RunSummary): RunsState {
  const current = state.runs[run];
  if (!current) return state;
  return { ...state, runs: { ...state.runs, [run]: change(current) } };
}

/** Fold one event into the runs state. Pure. */
export function evolveRuns(state: RunsState, event: LedgerEvent): RunsState {
  switch (event.type) {
    case 'RunStarted': {
      const d = event.data as RunStarted;
      const summary: RunSummary = {
        run: d.run, status: 'running', trainer: d.trainer, trainerVersion: d.trainerVersion, backend: d.backend,
        seed: d.seed, epochs: d.epochs, batchSize: d.batchSize, trainerConfig: d.trainerConfig ?? {}, policy: d.policy ?? {},
        startedAt: event.at, endedAt: null, startSeq: event.seq, lastSeq: event.seq, epoch: 0, step: 0,
        crashes: 0, resumes: 0, history: [], checkpoints: [], endReason: null, weightsDigest: null,
      };
      const order = state.order.includes(d.run) ? state.order : [...state.order, d.run];
      return { runs: { ...state.runs, [d.run]: summary }, order };
    }
    case 'EpochEnded': {
      const d = event.data as EpochEnded;
      return update(state, d.run, (r) => ({
        ...r, lastSeq: event.seq, epoch: d.epoch, step: d.step,
        history: [...r.history.filter((h) => h.epoch < d.epoch), { epoch: d.epoch, step: d.step, metrics: d.metrics, ms: d.ms, seq: event.seq, at: event.at }],
      }));
    }
    case 'RunResumed': {
      const d = event.data as RunResumed;
      return update(state, d.run, (r) => ({
        ...r, status: 'running', lastSeq: event.seq, epoch: d.epoch, step: d.step, resumes: r.resumes + 1, epochs: d.epochs ?? r.epochs,
        endedAt: null, endReason: null, history: r.history.filter((h) => h.epoch <= d.epoch),
      }));
    }
    case 'RunCrashed': {
      const d = event.data as RunCrashed;
      return update(state, d.run, (r) => ({ ...r, status: 'crashed', lastSeq: event.seq, crashes: r.crashes + 1, endReason: d.reason }));
    }
    case 'RunStopped': {
      const d = event.data as RunStopped;
      return update(state, d.run, (r) => ({ ...r, status: 'stopped', lastSeq: event.seq, endedAt: event.at, endReason: d.reason }));
    }
    case 'TrainingEnded': {
      const d = event.data as TrainingEnded;
      return update(state, d.run, (r) => ({ ...r, lastSeq: event.seq, epoch: d.epoch, step: d.step }));
    }
    case 'RunFinished': {
      const d = event.data as RunFinished;
      return update(state, d.run, (r) => ({
        ...r, status: 'finished', lastSeq: event.seq, endedAt: event.at, epoch: d.epoch, step: d.step,
        endReason: 'done', weightsDigest: d.weightsDigest ?? null,
      }));
    }
    case 'CheckpointCommitted': {
      const d = event.data as CheckpointCommitted;
      return update(state, d.run, (r) => ({ ...r, lastSeq: event.seq, checkpoints: [...r.checkpoints, d.checkpoint] }));
    }
    default:
      return state;
  }
}

export const runsProjection: Projection<RunsState> = {
  name: RUNS_PROJECTION,
  version: 1,
  init: () => ({ runs: {}, order: [] }),
  evolve: evolveRuns,
};

/**
 * The newest run, or undefined when the ledger has none.
 * @example const last = latestRun(state); if (last?.status === 'running') recover(last)
 */
export function latestRun(state: RunsState): RunSummary | undefined {
  const id = state.order[state.order.length - 1];
  return id === undefined ? undefined : state.runs[id];
}

/**
 * The id for the next run: `run-<n>` with n one past the highest existing number.
 * @example nextRunId({ runs: {}, order: ['run-1', 'run-2'] }) // 'run-3'
 */
export function nextRunId(state: RunsState): string {
  let max = 0;
  for (const id of state.order) {
    const n = Number(/^run-(\d+)$/.exec(id)?.[1] ?? 0);
    if (n > max) max = n;
  }
  return `run-${max + 1}`;
}
