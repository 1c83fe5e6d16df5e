/**
 * The run half of the read model: run lifecycle events (status, position, attempts, how a run was started, which
 * the supervisor and the in-process fit read to resume), and which metrics the runs' policies monitor (with their
 * direction from src/policy/mode.ts, the one home of metric direction).
 */
import type { LedgerEvent } from '../../ledger/types.js';
import type { EventMap } from '../events.js';
import { knownMode } from '../policy/mode.js';
import { itemsOf } from './append-only.js';
import type { Draft } from './catalog-draft.js';
import type { CatalogState, EpochRecord, MonitorMode, RunEntry } from './catalog-state.js';

/**
 * Every monitor named in a policy configuration, first monitor first: the normalized `monitors: [{metric, mode}]`
 * list, then any `{monitor, mode}` object anywhere inside it (early stopping, hand-written configs). A monitor
 * whose direction cannot be told (no explicit mode, a name `auto` cannot classify) is left out.
 * @example monitorsOf({ monitors: [{ metric: 'val_acc', mode: 'max' }] }) // [{ monitor: 'val_acc', mode: 'max' }]
 */
export function monitorsOf(policy: unknown, found: { monitor: string; mode: MonitorMode }[] = []): { monitor: string; mode: MonitorMode }[] {
  const add = (monitor: string, mode: unknown) => {
    const known = knownMode(monitor, typeof mode === 'string' ? mode : undefined);
    if (known && !found.some((f) => f.monitor === monitor)) found.push({ monitor, mode: known });
  };
  if (Array.isArray(policy)) {
    for (const item of policy) monitorsOf(item, found);
  } else if (policy && typeof policy === 'object') {
    const record = policy as Record<string, unknown>;
    if (Array.isArray(record.monitors)) {
      for (const m of record.monitors) {
        if (typeof m === 'string') add(m, undefined);
        else if (m && typeof m === 'object') {
          const name = (m as Record<string, unknown>).metric ?? (m as Record<string, unknown>).monitor;
          if (typeof name === 'string') add(name, (m as Record<string, unknown>).mode);
        }
      }
    }
    if (typeof record.monitor === 'string') add(record.monitor, record.mode);
    for (const value of Object.values(record)) if (value && typeof value === 'object') monitorsOf(value, found);
  }
  return found;
}

/** A `best:<metric>` label names a monitored metric; add it (after the policies' monitors) when its direction is known. */
export function addLabelMonitor(draft: Draft, label: string): void {
  if (!label.startsWith('best:')) return;
  const metric = label.slice(5);
  const mode = metric ? knownMode(metric) : undefined;
  if (mode && !(metric in draft.state.monitors)) draft.own('monitors')[metric] = mode;
}

/** Fold a run lifecycle event; false when the event is not one. */
export function applyRunEvent(draft: Draft, event: LedgerEvent): boolean {
  const data = event.data as any;
  switch (event.type as keyof EventMap) {
    case 'RunStarted': {
      const d = data as EventMap['RunStarted'];
      draft.addRun({
        id: d.run, trainer: d.trainer, ...(typeof d.trainerVersion === 'string' ? { trainerVersion: d.trainerVersion } : {}),
        trainerConfig: d.trainerConfig ?? {}, backend: d.backend, seed: d.seed, epochs: d.epochs, batchSize: d.batchSize,
        policy: d.policy ?? {}, pid: d.pid, status: 'running', startedAt: event.at, startedSeq: event.seq, lastAt: event.at,
        epoch: 0, step: 0, crashes: 0, resumes: 0, checkpoints: 0,
      });
      // The newest run's monitors win (its first one is what plain `best` means).
      const monitors = monitorsOf(d.policy);
      if (monitors.length > 0) {
        const older = Object.entries(draft.state.monitors).filter(([metric]) => !monitors.some((m) => m.monitor === metric));
        draft.state.monitors = Object.fromEntries([...monitors.map((m) => [m.monitor, m.mode] as const), ...older]);
      }
      return true;
    }
    case 'RunResumed': {
      const r = draft.run(data.run);
      if (r) {
        // The run continues from the checkpoint's position: epochs after it are run again.
        Object.assign(r, { status: 'running', resumes: r.resumes + 1, lastAt: event.at, epoch: data.epoch, step: data.step, ...(data.epochs !== undefined ? { epochs: data.epochs } : {}) });
        delete r.endReason;
        delete r.endedAt;
      }
      return true;
    }
    case 'RunCrashed': {
      const r = draft.run(data.run);
      if (r) Object.assign(r, { status: 'crashed', crashes: r.crashes + 1, lastAt: event.at, endReason: data.reason });
      return true;
    }
    case 'RunStopped': {
      const r = draft.run(data.run);
      if (r) Object.assign(r, { status: 'stopped', lastAt: event.at, endedAt: event.at, endReason: data.reason });
      return true;
    }
    case 'TrainingEnded': {
      const r = draft.run(data.run);
      if (r) Object.assign(r, { lastAt: event.at, epoch: data.epoch, step: data.step });
      return true;
    }
    case 'RunFinished': {
      const r = draft.run(data.run);
      if (r) {
        Object.assign(r, { status: 'finished', lastAt: event.at, endedAt: event.at, epoch: data.epoch, step: data.step, endReason: 'done' });
        if (typeof data.weightsDigest === 'string') r.weightsDigest = data.weightsDigest;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * The newest run, or undefined when the ledger has none.
 * @example const last = latestRun(catalog); if (last?.status === 'running') recordUncleanEnd(ledger, last, 'the supervisor')
 */
export function latestRun(state: CatalogState): RunEntry | undefined {
  const id = state.runOrder[state.runOrder.length - 1];
  return id === undefined ? undefined : state.runs[id];
}

/**
 * The id for the next run: `run-<n>` with n one past the highest existing number.
 * @example nextRunId(catalog) // 'run-3' after run-1 and run-2
 */
export function nextRunId(state: CatalogState): string {
  let max = 0;
  for (const id of state.runOrder) {
    const n = Number(/^run-(\d+)$/.exec(id)?.[1] ?? 0);
    if (n > max) max = n;
  }
  return `run-${max + 1}`;
}

/**
 * The program a run was started with (built-in name or absolute path), when RunStarted recorded one.
 * @example runProgram(catalog.runs['run-1']) // 'mnist-mlp'
 */
export function runProgram(run: RunEntry | undefined): string | undefined {
  const program = run?.trainerConfig.trainer;
  return typeof program === 'string' ? program : undefined;
}

/**
 * The ids of the checkpoints a run committed, oldest first (pruned ones included: see their status).
 * @example runCheckpointIds(catalog, 'run-1') // ['ckpt-1', 'ckpt-3']
 */
export function runCheckpointIds(state: CatalogState, id: string): string[] {
  const run = state.runs[id];
  if (!run) return [];
  return state.order.filter((c) => state.checkpoints[c].run === id && state.checkpoints[c].seq > run.startedSeq);
}

/**
 * A run's epochs in training order, one per epoch: an epoch ended again replaces the earlier one, and a resume
 * drops the epochs after the checkpoint it continues from (they are trained again).
 * @example runHistory(catalog, 'run-1').map((h) => h.epoch) // [1, 2] after epochs 1-3 and a resume from epoch 2
 */
export function runHistory(state: CatalogState, id: string): EpochRecord[] {
  const run = state.runs[id];
  if (!run) return [];
  // Resumes are audit-trail lines of the read model (kind `resume`, with the epoch resumed from).
  const resumes = itemsOf(state.log).filter((e) => e.kind === 'resume' && e.run === id && e.seq > run.startedSeq);
  let history: EpochRecord[] = [];
  let next = 0;
  const rewindBefore = (seq: number) => {
    for (; next < resumes.length && resumes[next].seq < seq; next++) {
      const from = resumes[next].epoch ?? 0;
      history = history.filter((h) => h.epoch <= from);
    }
  };
  for (const e of itemsOf(state.epochs)) {
    if (e.run !== id || e.seq < run.startedSeq) continue;
    rewindBefore(e.seq);
    history = [...history.filter((h) => h.epoch < e.epoch), e];
  }
  rewindBefore(Infinity);
  return history;
}
