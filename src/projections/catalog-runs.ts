/**
 * The run half of the read model: run lifecycle events, and which metrics the runs' policies monitor (with
 * their direction from src/policy/mode.ts, the one home of metric direction).
 */
import type { LedgerEvent } from '../../ledger/types.js';
import type { EventMap } from '../events.js';
import { knownMode } from '../policy/mode.js';
import type { Draft } from './catalog-draft.js';
import type { MonitorMode } from './catalog-state.js';

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
        id: d.run, trainer: d.trainer, backend: d.backend, seed: d.seed, epochs: d.epochs, batchSize: d.batchSize,
        policy: d.policy ?? {}, pid: d.pid, status: 'running', startedAt: event.at, startedSeq: event.seq, lastAt: event.at,
        epoch: 0, step: 0, crashes: 0, resumes: 0, checkpoints: 0,
        ...(typeof d.trainerConfig?.trainer === 'string' ? { program: d.trainerConfig.trainer } : {}),
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
        Object.assign(r, { status: 'running', resumes: r.resumes + 1, lastAt: event.at, ...(data.epochs !== undefined ? { epochs: data.epochs } : {}) });
        delete r.endReason;
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
      if (r) Object.assign(r, { status: 'stopped', lastAt: event.at, endReason: data.reason });
      return true;
    }
    case 'RunFinished': {
      const r = draft.run(data.run);
      if (r) {
        Object.assign(r, { status: 'finished', lastAt: event.at, epoch: data.epoch, step: data.step, endReason: 'done' });
        if (typeof data.weightsDigest === 'string') r.weightsDigest = data.weightsDigest;
      }
      return true;
    }
    default:
      return false;
  }
}
