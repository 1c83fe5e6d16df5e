/**
 * A checkpoint's story (`ckpt why`, `ckpt show`): the epoch and decision that caused its commit, the commit, and
 * every later event that concerns it, in ledger order — derived from the read model's audit trail, so the
 * projection stores each fact once.
 */
import { findBySeq, itemsOf } from '../projections/append-only.js';
import { metricsLine, type CatalogEntry, type CatalogState, type LogEntry, type TrailEntry } from '../projections/catalog.js';
import { DECISION_TYPES } from '../events.js';

/**
 * @example trailOf(state, resolveRef(state, 'best')).map((t) => t.type) // ['EpochEnded', 'SaveDecided', 'CheckpointCommitted', ...]
 */
export function trailOf(state: CatalogState, c: CatalogEntry): TrailEntry[] {
  const trail: TrailEntry[] = [];
  const decision = c.decisionSeq !== undefined ? findBySeq(state.decisions, c.decisionSeq) : undefined;
  if (decision) {
    const cause = findBySeq(state.epochs, decision.causeSeq);
    if (cause) trail.push({ seq: cause.seq, at: cause.at, type: 'EpochEnded', text: `EpochEnded: epoch ${cause.epoch} (step ${cause.step}) ${metricsLine(cause.metrics)}` });
    trail.push({ seq: decision.seq, at: decision.at, type: decision.type, text: `${decision.type} (${decision.rule}): ${decision.reason}` });
  }
  for (const line of itemsOf(state.log)) {
    if (line.checkpoint === c.id && line.seq >= c.seq) trail.push({ seq: line.seq, at: line.at, type: line.type, text: textOf(line) });
  }
  return trail;
}

function textOf(line: LogEntry): string {
  return DECISION_TYPES.includes(line.type) ? `${line.type} (${line.rule}): ${line.reason}` : `${line.type}: ${line.reason}`;
}
