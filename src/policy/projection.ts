/** The policy as a ledger projection: its state survives crashes and resumes through snapshots + replay. */
import type { LedgerEvent, Projection } from '../../ledger/types.js';
import { findKept } from './tracked.js';
import type { Policy, PolicyConfig, PolicyState } from './types.js';

/** Bump when the reducer's state shape or semantics change: old snapshots are then rebuilt from events. */
export const POLICY_STATE_VERSION = 4;

/** Deterministic JSON: object keys sorted, so equal configs hash equally. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

/**
 * 31-bit FNV-1a hash of the normalized config plus the state version (a positive projection version).
 * @example configVersion(parsePolicyConfig('normal')) === configVersion(parsePolicyConfig('normal')) // true
 */
export function configVersion(config: PolicyConfig): number {
  const text = `${POLICY_STATE_VERSION}:${stableStringify(config)}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 1) || 1;
}

/**
 * Projection `policy:<run>` folding `policy.decide` over the run's events (its stream, plus checkpoint facts
 * about checkpoints it tracks that arrive on another stream, e.g. a pin from the CLI on `store`).
 * @example await ledger.register(policyProjection(policy, 'run-3')); ledger.state<PolicyState>('policy:run-3')
 */
export function policyProjection(policy: Policy, run: string): Projection<PolicyState> {
  return {
    name: `policy:${run}`,
    version: configVersion(policy.config),
    init: () => policy.init(),
    evolve: (state: PolicyState, event: LedgerEvent) => {
      if (event.stream !== run && !concernsTracked(state, event)) return state;
      return policy.decide(state, event).state;
    },
  };
}

function concernsTracked(state: PolicyState, event: LedgerEvent): boolean {
  if (!event.type.startsWith('Checkpoint') || event.type === 'CheckpointCommitted') return false;
  const id = (event.data as { checkpoint?: unknown } | null)?.checkpoint;
  return typeof id === 'string' && (findKept(state, id) !== undefined || state.pinned.includes(id));
}
