/**
 * Run lifecycle for in-process fits: which run a fit starts or continues, and the lifecycle events it records.
 * Same rules as the supervisor: run ids `run-<n>`, a run whose newest lifecycle event is not RunFinished or
 * RunStopped was interrupted — it gets a RunCrashed on the next open, and BackupAndRestore continues it.
 */
import type { EventInput } from '../../../ledger/types.js';
import type { CheckpointState, HistoryEntry } from '../../checkpoint.js';
import type { RunResumed, RunStarted } from '../../events.js';
import { latestRun, nextRunId, runCheckpointIds, runHistory, type RunEntry } from '../../projections/catalog.js';
import { recordUncleanEnd, uncleanEndEvent } from '../../run/run-records.js';
import type { Workspace } from '../../workspace.js';

/** Where an interrupted fit continues: its run, the checkpoint it restores (if one verifies), and its epoch. */
export interface ResumePoint {
  run: string;
  /** Completed epochs at the checkpoint: pass it as `initialEpoch` to `model.fit`. 0 when none verified. */
  epoch: number;
  step: number;
  checkpoint: string | null;
  state: CheckpointState | null;
  /** The epochs (1-based, with metrics) the continued run had completed up to `epoch`. */
  history: HistoryEntry[];
  /** RunCrashed (when not yet recorded) and RunResumed for this resume. */
  events(run: string): EventInput[];
}

const OWNER = 'the fit process';

function interrupted(run: RunEntry | undefined, trainer: string): run is RunEntry {
  return run !== undefined && run.trainer === trainer && (run.status === 'running' || run.status === 'crashed');
}

/**
 * The newest interrupted run of `trainer` in the workspace and the newest of its checkpoints that verifies.
 * Read-only apart from what a failed verification records. Undefined when the newest run ended normally.
 * @example const point = await findResumePoint(ws, 'tfjs-fit'); model.fit(x, y, { initialEpoch: point?.epoch ?? 0 })
 */
export async function findResumePoint(workspace: Workspace, trainer: string): Promise<ResumePoint | undefined> {
  const last = latestRun(workspace.store.catalog());
  if (!interrupted(last, trainer)) return undefined;
  const loaded = last.checkpoints > 0 ? await workspace.store.loadNewestVerified(last.id) : null;
  const epoch = loaded?.state.trainer.epoch ?? 0;
  const step = loaded?.state.trainer.step ?? 0;
  return {
    run: last.id,
    epoch,
    step,
    checkpoint: loaded?.id ?? null,
    state: loaded?.state ?? null,
    history: loaded?.state.history ?? [],
    events: (run) => {
      const events: EventInput[] = last.status === 'running' ? [uncleanEndEvent(last, OWNER)] : [];
      const resumed: RunResumed = { run, fromCheckpoint: loaded?.id ?? null, epoch, step, attempt: last.resumes + 1, reason: 'resume' };
      events.push({ stream: run, type: 'RunResumed', data: resumed });
      return events;
    },
  };
}

/**
 * A fit that starts at `initialEpoch` > 0 without restoring here (BackupAndRestore keeps its backups in another
 * directory, or the caller restored the model itself) continues this directory's interrupted run, so best values,
 * top-K and early-stopping counters carry on instead of starting over (the keras-team/keras#17012 bug). The
 * policy's progress rolls back to the newest kept checkpoint at or before `initialEpoch`.
 * @example const point = await findContinuation(ws, 'tfjs-fit', 4) // { run: 'run-1', epoch: 4, state: null, ... }
 */
export async function findContinuation(workspace: Workspace, trainer: string, initialEpoch: number, stepsPerEpoch: number): Promise<ResumePoint | undefined> {
  const catalog = workspace.store.catalog();
  const last = latestRun(catalog);
  if (!interrupted(last, trainer)) return undefined;
  const from = runCheckpointIds(catalog, last.id).reverse()
    .map((id) => catalog.checkpoints[id])
    .find((c) => c !== undefined && c.status === 'kept' && c.epoch <= initialEpoch);
  const step = initialEpoch * stepsPerEpoch;
  return {
    run: last.id,
    epoch: initialEpoch,
    step,
    checkpoint: from?.id ?? null,
    state: null,
    history: runHistory(catalog, last.id).filter((h) => h.epoch <= initialEpoch).map((h) => ({ epoch: h.epoch, metrics: h.metrics })),
    events: (run) => {
      const events: EventInput[] = last.status === 'running' ? [uncleanEndEvent(last, OWNER)] : [];
      const resumed: RunResumed = { run, fromCheckpoint: from?.id ?? null, epoch: initialEpoch, step, attempt: last.resumes + 1, reason: 'resume' };
      events.push({ stream: run, type: 'RunResumed', data: resumed });
      return events;
    },
  };
}

/**
 * Record RunCrashed for the newest run when it never ended (any trainer), so the ledger shows the interruption.
 * @example await recordCrashIfUnfinished(ws)
 */
export async function recordCrashIfUnfinished(workspace: Workspace): Promise<void> {
  const last = latestRun(workspace.store.catalog());
  if (last?.status === 'running') await recordUncleanEnd(workspace.ledger, last, OWNER);
}

export type RunStartFacts = Omit<RunStarted, 'run' | 'pid' | 'protocol' | 'seed'> & { seed?: number };

/**
 * The id and RunStarted event of a new run.
 * @example const { run, events } = await startRunEvents(ws, facts); await ws.ledger.append(events, { durable: true })
 */
export async function startRunEvents(workspace: Workspace, facts: RunStartFacts): Promise<{ run: string; events: EventInput[] }> {
  const run = nextRunId(workspace.store.catalog());
  // protocol 0: the trainer runs in the owner's process and speaks no wire protocol.
  const data: RunStarted = { ...facts, run, protocol: 0, seed: facts.seed ?? 0, pid: process.pid };
  return { run, events: [{ stream: run, type: 'RunStarted', data }] };
}
