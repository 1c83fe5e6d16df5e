/**
 * The states a trainer keeps for `save`. With the 'hold' capability: the state of every position the trainer
 * reported, until the supervisor releases it (`release` is cumulative); the trainer waits while `full`. Without:
 * the states of the latest `keep` epoch ends, the oldest dropped first (the behaviour before 'hold').
 *
 * @example
 *   const held = new HeldStates({ hold: true, maxHeld: 2, keep: 4 });
 *   held.add({ epoch: 1, step: 94 }, 'epoch', state1);
 *   held.get({ epoch: 1, step: 94 }) === state1; held.release({ epoch: 1, step: 94 }); held.size === 0
 */
import type { CheckpointState } from '../checkpoint.js';
import { comparePositions, type TrainingPosition } from '../protocol/position.js';

/** How many unreleased states a 'hold' trainer keeps before it waits (config `maxHeld` overrides). */
export const DEFAULT_MAX_HELD = 2;
/** How many epoch-boundary states a trainer without 'hold' keeps (config `keepEpochStates` overrides). */
export const DEFAULT_KEEP_EPOCH_STATES = 4;

interface Held { position: TrainingPosition; kind: 'epoch' | 'batch'; state: CheckpointState }

export class HeldStates {
  private readonly held = new Map<string, Held>();

  constructor(readonly options: { readonly hold: boolean; readonly maxHeld: number; readonly keep: number }) {}

  get size(): number {
    return this.held.size;
  }

  /** A 'hold' trainer that holds `maxHeld` unreleased states must not train on. */
  get full(): boolean {
    return this.options.hold && this.held.size >= this.options.maxHeld;
  }

  /** Keep the state of a reported position (without 'hold', only epoch ends are kept). */
  add(position: TrainingPosition, kind: 'epoch' | 'batch', state: CheckpointState): void {
    if (!this.options.hold && kind === 'batch') return;
    const key = keyOf(position);
    this.held.delete(key);
    this.held.set(key, { position: { ...position }, kind, state });
    if (this.options.hold) return;
    while (this.held.size > this.options.keep) this.held.delete(this.held.keys().next().value!);
  }

  /** True when `state` is held (for any position). */
  has(state: CheckpointState): boolean {
    for (const h of this.held.values()) if (h.state === state) return true;
    return false;
  }

  /** The state of exactly this reported position, if still held. */
  get(position: TrainingPosition): CheckpointState | undefined {
    return this.held.get(keyOf(position))?.state;
  }

  /** The state of epoch `epoch`'s end, if still held (the form older supervisors ask for). */
  ofEpoch(epoch: number): CheckpointState | undefined {
    let found: CheckpointState | undefined;
    for (const h of this.held.values()) if (h.kind === 'epoch' && h.position.epoch === epoch) found = h.state;
    return found;
  }

  /** Drop every state at a position ≤ `upTo`; returns how many were dropped. */
  release(upTo: TrainingPosition): number {
    let dropped = 0;
    for (const [key, h] of this.held) {
      if (comparePositions(h.position, upTo) <= 0) { this.held.delete(key); dropped++; }
    }
    return dropped;
  }

  /** Why a position's state is not here, for PROTOCOL_STATE_GONE: what is held (`1/94, 2/188`) and what to do. */
  whyGone(): string {
    const held = [...this.held.values()].map((h) => `${h.position.epoch}/${h.position.step}`).join(', ') || 'none';
    return this.options.hold
      ? `held: ${held}; the supervisor released it, or it was never reported`
      : `held: ${held}; without 'hold' this trainer keeps only its last ${this.options.keep} epoch ends: announce 'hold' or raise config.keepEpochStates`;
  }
}

function keyOf(p: TrainingPosition): string {
  return `${p.epoch}/${p.step}`;
}
