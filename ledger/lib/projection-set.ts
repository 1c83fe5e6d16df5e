import { LedgerError } from '../errors.js';
import type { LedgerEvent, Projection } from '../types.js';
import { encodeSnapshot } from './codec.js';

interface Slot {
  projection: Projection<any>;
  state: unknown;
  /** Seq covered by the newest stored snapshot of this projection (0: none). */
  snapshotSeq: number;
}

/** The projections' states after a batch, not yet committed: applied only once the batch is written. */
export interface PendingProjections {
  states: Map<string, unknown>;
  snapshots: { name: string; bytes: Uint8Array }[];
  snapshotSeq: number;
}

/**
 * The registered projections and their current states. Advancing is two-phase (`advance` computes, `commit`
 * applies after the write succeeded) so a failed write leaves every state as it was.
 * @example
 *   const set = new ProjectionSet(1000)
 *   set.add(count, 0, 0)
 *   set.commit(set.advance([event], event.seq))
 */
export class ProjectionSet {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly snapshotEvery: number) {}

  get size(): number {
    return this.slots.size;
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  version(name: string): number | undefined {
    return this.slots.get(name)?.projection.version;
  }

  add(projection: Projection<any>, state: unknown, snapshotSeq: number): void {
    this.slots.set(projection.name, { projection, state, snapshotSeq });
  }

  markSnapshotted(name: string, seq: number): void {
    const slot = this.slots.get(name);
    if (slot) slot.snapshotSeq = seq;
  }

  state<S>(name: string): S {
    const slot = this.slots.get(name);
    if (slot === undefined) {
      throw new LedgerError('LEDGER_INVALID', `no projection named "${name}" is registered; pass it in options.projections or call register()`, {
        details: { name },
      });
    }
    return slot.state as S;
  }

  /** States after folding `events`, plus the snapshots due at `lastSeq` (the batch's last seq). */
  advance(events: readonly LedgerEvent[], lastSeq: number): PendingProjections {
    const states = new Map<string, unknown>();
    const snapshots: { name: string; bytes: Uint8Array }[] = [];
    for (const [name, slot] of this.slots) {
      const state = foldEvents(slot.projection, slot.state, events);
      states.set(name, state);
      if (lastSeq - slot.snapshotSeq >= this.snapshotEvery) {
        snapshots.push({ name, bytes: encodeSnapshot({ name, version: slot.projection.version, seq: lastSeq, state }) });
      }
    }
    return { states, snapshots, snapshotSeq: lastSeq };
  }

  commit(pending: PendingProjections): void {
    for (const [name, state] of pending.states) {
      const slot = this.slots.get(name);
      if (slot) slot.state = state;
    }
    for (const { name } of pending.snapshots) this.markSnapshotted(name, pending.snapshotSeq);
  }
}

/**
 * Folds events into a projection's state; a throwing `evolve` becomes LEDGER_INVALID naming the event.
 * @example foldEvents(count, 0, events) // events.length
 */
export function foldEvents<S>(projection: Projection<S>, state: S, events: readonly LedgerEvent[]): S {
  for (const event of events) {
    try {
      state = projection.evolve(state, event);
    } catch (cause) {
      throw new LedgerError(
        'LEDGER_INVALID',
        `projection "${projection.name}" v${projection.version} failed on seq ${event.seq} (${event.type}); fix its evolve()`,
        { cause, details: { projection: projection.name, seq: event.seq, type: event.type } },
      );
    }
  }
  return state;
}
