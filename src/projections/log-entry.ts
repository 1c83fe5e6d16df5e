/**
 * Turns one ledger event into one audit-trail line (`ckpt log`), or null for events that are not part of the
 * trail (batch progress, trainer logs). Pure; `ckpt log --follow` uses it on live events, the projection on
 * stored ones, so both print the same lines.
 */
import type { LedgerEvent } from '../../ledger/types.js';
import { DECISION_TYPES, type Decision, type EventMap } from '../events.js';
import type { LogEntry } from './catalog-state.js';
import { plural } from '../text.js';

const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : String(v));

/**
 * @example toLogEntry({ seq: 9, type: 'SaveSkipped', data: { kind: 'skip', reason: 'val_loss did not improve from 0.2981', ... } })
 *   // { seq: 9, kind: 'skip', reason: 'val_loss did not improve from 0.2981', ... }
 */
export function toLogEntry(event: LedgerEvent): LogEntry | null {
  const entry = logEntryOf(event);
  if (!entry) return null;
  // Checkpoint facts carry no run of their own; their ledger stream is the run (except store-wide events).
  if (entry.run === undefined && event.stream && event.stream !== 'store') entry.run = event.stream;
  return withoutUndefined(entry);
}

/** Drop keys whose value is undefined, so the object survives a msgpack snapshot unchanged. */
export function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

function logEntryOf(event: LedgerEvent): LogEntry | null {
  if (!event.data || typeof event.data !== 'object') return null;
  const base = { seq: event.seq, at: event.at, type: event.type };
  if (DECISION_TYPES.includes(event.type)) {
    const d = event.data as Decision;
    return {
      ...base, kind: d.kind, run: d.run ?? event.stream, epoch: d.epoch, checkpoint: d.checkpoint, rule: d.rule,
      reason: d.reason, monitor: d.monitor, value: d.value, previous: d.previous, threshold: d.threshold,
    };
  }
  const data = event.data as any;
  switch (event.type as keyof EventMap) {
    case 'RunStarted': {
      const d = data as EventMap['RunStarted'];
      return { ...base, kind: 'start', run: d.run, reason: `run started: trainer ${d.trainer} (${d.backend}), ${plural(d.epochs, 'epoch')}, seed ${d.seed}, batch ${d.batchSize}` };
    }
    case 'RunResumed': {
      const d = data as EventMap['RunResumed'];
      return { ...base, kind: 'resume', run: d.run, epoch: d.epoch, checkpoint: d.fromCheckpoint ?? undefined,
        reason: d.fromCheckpoint ? `${d.reason} #${d.attempt} from ${d.fromCheckpoint} at epoch ${d.epoch}` : `${d.reason} #${d.attempt} from scratch (no checkpoint verified)` };
    }
    case 'RunCrashed': {
      const d = data as EventMap['RunCrashed'];
      const how = d.signal ? `signal ${d.signal}` : d.exitCode != null ? `exit code ${d.exitCode}` : d.code ?? 'crash';
      return { ...base, kind: 'crash', run: d.run, reason: `run crashed (${how}): ${d.reason}` };
    }
    case 'RunStopped': {
      const d = data as EventMap['RunStopped'];
      return { ...base, kind: 'stopped', run: d.run, reason: `run stopped: ${d.reason}${d.signal ? ` (${d.signal})` : ''}` };
    }
    case 'RunFinished': {
      const d = data as EventMap['RunFinished'];
      return { ...base, kind: 'finish', run: d.run, epoch: d.epoch, reason: `run finished at epoch ${d.epoch}, step ${d.step}` };
    }
    case 'TrainingEnded': {
      const d = data as EventMap['TrainingEnded'];
      return { ...base, kind: 'training-end', run: d.run, epoch: d.epoch, reason: `training loop ended (${d.reason}) at epoch ${d.epoch}` };
    }
    case 'ProtocolFault': {
      const d = data as EventMap['ProtocolFault'];
      return { ...base, kind: 'fault', run: d.run, reason: `${d.code}: ${d.message}` };
    }
    case 'CheckpointCommitted': {
      const d = data as EventMap['CheckpointCommitted'];
      return { ...base, kind: 'commit', run: d.run, epoch: d.epoch, checkpoint: d.checkpoint,
        reason: `committed ${d.checkpoint} (epoch ${d.epoch}, ${bytesText(d.bytes?.new ?? 0)} new of ${bytesText(d.bytes?.logical ?? 0)}${d.labels?.length ? `, ${d.labels.join(', ')}` : ''})` };
    }
    case 'CheckpointPruned': {
      const d = data as EventMap['CheckpointPruned'];
      return { ...base, kind: 'pruned', checkpoint: d.checkpoint, reason: `pruned ${d.checkpoint}: ${plural(d.blobsDeleted, 'blob')} deleted, ${bytesText(d.bytesFreed)} freed` };
    }
    case 'CheckpointCorrupted': {
      const d = data as EventMap['CheckpointCorrupted'];
      return { ...base, kind: 'corrupt', checkpoint: d.checkpoint, reason: `${d.checkpoint} is corrupt: blob ${String(d.blob).slice(0, 12)} ${d.detail}` };
    }
    case 'CheckpointMissing': {
      const d = data as EventMap['CheckpointMissing'];
      return { ...base, kind: 'missing', checkpoint: d.checkpoint, reason: `${d.checkpoint} is missing blob ${String(d.blob).slice(0, 12)}` };
    }
    case 'CheckpointRepaired': {
      const d = data as EventMap['CheckpointRepaired'];
      return { ...base, kind: 'repaired', checkpoint: d.checkpoint, reason: `${d.checkpoint} repaired from backup ${d.from}: blob ${String(d.blob).slice(0, 12)} was ${d.fault}` };
    }
    case 'CheckpointVerified': {
      const d = data as EventMap['CheckpointVerified'];
      return { ...base, kind: 'verified', checkpoint: d.checkpoint, reason: `${d.checkpoint} verified: ${plural(d.blobs, 'blob')}, ${bytesText(d.bytes)}` };
    }
    case 'CheckpointTagged': {
      const d = data as EventMap['CheckpointTagged'];
      return { ...base, kind: 'tag', checkpoint: d.checkpoint, reason: `tagged ${d.checkpoint}: ${(d.tags ?? []).join(', ')}${d.description ? ` — ${d.description}` : ''}` };
    }
    case 'CheckpointPinned':
    case 'CheckpointUnpinned': {
      const d = data as EventMap['CheckpointPinned'];
      const verb = event.type === 'CheckpointPinned' ? 'pinned' : 'unpinned';
      return { ...base, kind: verb === 'pinned' ? 'pin' : 'unpin', checkpoint: d.checkpoint, reason: `${verb} ${d.checkpoint}${d.reason ? `: ${d.reason}` : ''}` };
    }
    case 'CheckpointExported': {
      const d = data as EventMap['CheckpointExported'];
      return { ...base, kind: 'export', checkpoint: d.checkpoint, reason: `exported ${d.checkpoint} as ${d.format} to ${d.path}` };
    }
    case 'CheckpointImported': {
      const d = data as EventMap['CheckpointImported'];
      return { ...base, kind: 'import', checkpoint: d.checkpoint, reason: `imported ${d.checkpoint} (was ${d.originalId}) from ${d.from}` };
    }
    case 'BackupVerified': {
      const d = data as EventMap['BackupVerified'];
      return { ...base, kind: 'backup-done', checkpoint: d.checkpoint, reason: `backup of ${d.checkpoint} verified in ${d.target} (${plural(d.blobs, 'blob')})` };
    }
    case 'BackupFailed': {
      const d = data as EventMap['BackupFailed'];
      return { ...base, kind: 'backup-failed', checkpoint: d.checkpoint, reason: `backup of ${d.checkpoint} to ${d.target} failed: ${d.code}: ${d.message}` };
    }
    default:
      return null;
  }
}

/** A decision's numbers in one short phrase, e.g. `val_loss 0.2981 (was 0.3120)`. */
export function decisionNumbers(d: Pick<Decision, 'monitor' | 'value' | 'previous' | 'threshold'>): string {
  if (!d.monitor) return '';
  let text = `${d.monitor} ${num(d.value)}`;
  if (d.previous != null) text += ` (was ${num(d.previous)})`;
  if (d.threshold != null) text += ` threshold ${num(d.threshold)}`;
  return text;
}

/** `1.32 MB` (decimal units), for the one-line reasons. */
function bytesText(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}
