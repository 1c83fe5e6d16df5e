/**
 * Runs a pure policy (`decide(state, event) → {state, decisions}`) over one run's events in ledger order.
 * Its state is rebuilt from the ledger when the run is resumed; afterwards every call first folds the run's
 * events it has not seen (logs, decisions, commits appended by others), so the live state always equals a
 * fold of the ledger, which is what a resume rebuilds.
 *
 * @example
 *   const feed = await PolicyFeed.open(policy, ledger, 'run-3');
 *   const decisions = await feed.decide(epochEndedEvent);
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import type { Decision } from '../events.js';
import type { RunPolicy } from './ports.js';

export interface PureRunPolicy<S> {
  readonly config: object;
  init(): S;
  decide(state: S, event: LedgerEvent): { state: S; decisions: Decision[] };
}

export class PolicyFeed<S> implements RunPolicy {
  private fedSeq = 0;

  private constructor(private readonly policy: PureRunPolicy<S>, private readonly ledger: Ledger, private readonly run: string, private state: S) {}

  /** Fold every stored event of `run` (decisions discarded: they were already acted on). */
  static async open<S>(policy: PureRunPolicy<S>, ledger: Ledger, run: string): Promise<PolicyFeed<S>> {
    const feed = new PolicyFeed(policy, ledger, run, policy.init());
    await feed.catchUp(ledger.lastSeq);
    return feed;
  }

  /**
   * Start from a state already folded up to `seq` (e.g. the policy's ledger projection, restored from a
   * snapshot), so a resume does not replay the whole ledger.
   */
  static fromState<S>(policy: PureRunPolicy<S>, ledger: Ledger, run: string, state: S, seq: number): PolicyFeed<S> {
    const feed = new PolicyFeed(policy, ledger, run, state);
    feed.fedSeq = seq;
    return feed;
  }

  get config(): Record<string, unknown> {
    return this.policy.config as Record<string, unknown>;
  }

  /**
   * Decisions caused by `event` and by every earlier event of the run not fed yet (e.g. a CheckpointCommitted
   * the store appended while an epoch was being decided): each event is decided exactly once.
   */
  async decide(event: LedgerEvent): Promise<Decision[]> {
    if (event.seq <= this.fedSeq) return [];
    const decisions = await this.catchUp(event.seq - 1, true);
    const result = this.policy.decide(this.state, event);
    this.state = result.state;
    this.fedSeq = event.seq;
    return [...decisions, ...result.decisions];
  }

  private async catchUp(toSeq: number, live = false): Promise<Decision[]> {
    const decisions: Decision[] = [];
    if (toSeq <= this.fedSeq) return decisions;
    for await (const event of this.ledger.read({ stream: this.run, fromSeq: this.fedSeq + 1, toSeq })) {
      const result = this.policy.decide(this.state, event);
      this.state = result.state;
      if (live) decisions.push(...result.decisions);
    }
    this.fedSeq = toSeq;
    return decisions;
  }
}
