/**
 * Test fixtures for policy suites: a ledger-event builder and a tiny in-memory supervisor that commits every
 * save decision at once (ckpt-<n>) and carries out every prune, the way src/run does for real.
 */
import type { LedgerEvent } from '../ledger/types.js';
import type { Decision, Metrics } from '../src/events.js';
import { DECISION_EVENT } from '../src/events.js';
import { keptCheckpoints, type Policy, type PolicyState } from '../src/policy/index.js';

export const RUN = 'run-1';
export const HOUR = 3_600_000;

export class EventLog {
  seq = 0;
  at = 1_000_000;
  readonly events: LedgerEvent[] = [];
  push(type: string, data: unknown, at?: number, stream = RUN): LedgerEvent {
    if (at !== undefined) this.at = at;
    else this.at += 1000;
    const e: LedgerEvent = { seq: ++this.seq, id: `e${this.seq}`, stream, type, v: 1, at: this.at, data };
    this.events.push(e);
    return e;
  }
  started(): LedgerEvent {
    return this.push('RunStarted', { run: RUN, trainer: 't', trainerVersion: '1', backend: 'cpu', protocol: 1, seed: 1, epochs: 100, batchSize: 8, trainerConfig: {}, policy: {}, pid: 1 });
  }
  epoch(epoch: number, metrics: Metrics, opts: { step?: number; at?: number } = {}): LedgerEvent {
    return this.push('EpochEnded', { run: RUN, epoch, step: opts.step ?? epoch * 10, metrics, ms: 5 }, opts.at);
  }
  batch(epoch: number, step: number, metrics: Metrics = { loss: 1 }, at?: number): LedgerEvent {
    return this.push('BatchEnded', { run: RUN, epoch, batch: step, step, metrics }, at);
  }
  commit(id: string, epoch: number, step: number, metrics: Metrics, labels: string[] = [], at?: number): LedgerEvent {
    return this.push('CheckpointCommitted', { checkpoint: id, run: RUN, epoch, step, manifest: 'm', weightsDigest: 'w', metrics, bytes: { logical: 1, new: 1 }, blobs: [], objects: [], tags: [], labels, trainer: 't', backend: 'cpu' }, at);
  }
  ended(epoch: number, step: number, reason: 'done' | 'stopped' | 'early-stop' = 'done'): LedgerEvent {
    return this.push('TrainingEnded', { run: RUN, epoch, step, reason });
  }
}

/** Drive a policy like the supervisor: decisions become events; saves commit at once; prunes complete at once. */
export class Sim {
  readonly log = new EventLog();
  state: PolicyState;
  readonly decisions: Decision[] = [];
  /** Checkpoints committed and not pruned, in commit order. */
  readonly live: string[] = [];
  commits = 0;
  constructor(readonly policy: Policy, opts: { start?: boolean } = {}) {
    this.state = policy.init();
    if (opts.start !== false) this.feed(this.log.started());
  }
  feed(event: LedgerEvent): Decision[] {
    const r = this.policy.decide(this.state, event);
    this.state = r.state;
    const out: Decision[] = [];
    for (const d of r.decisions) {
      out.push(d);
      this.decisions.push(d);
      const decided = this.log.push(DECISION_EVENT[d.kind], d, this.log.at);
      this.policy.decide(this.state, decided); // decision events must not change anything
      if (d.kind === 'save') {
        const id = `ckpt-${++this.commits}`;
        const metrics = event.type === 'EpochEnded' ? (event.data as { metrics: Metrics }).metrics : {};
        out.push(...this.feed(this.log.commit(id, d.epoch!, d.step!, metrics, d.labels, this.log.at)));
        this.live.push(id);
      } else if (d.kind === 'prune') {
        out.push(...this.feed(this.log.push('CheckpointPruned', { checkpoint: d.checkpoint, intentSeq: decided.seq, blobsDeleted: 1, bytesFreed: 1 }, this.log.at)));
        this.live.splice(this.live.indexOf(d.checkpoint!), 1);
      }
    }
    return out;
  }
  epoch(epoch: number, metrics: Metrics, opts: { step?: number; at?: number } = {}): Decision[] {
    return this.feed(this.log.epoch(epoch, metrics, opts));
  }
  /** Feed epochs 1..n with the given val_loss values (and any extra metrics per epoch). */
  losses(values: number[], extra: (i: number) => Metrics = () => ({})): Decision[] {
    const out: Decision[] = [];
    values.forEach((v, i) => out.push(...this.epoch(i + 1, { loss: v, val_loss: v, ...extra(i) })));
    return out;
  }
  kinds(decisions = this.decisions): string[] {
    return decisions.map((d) => d.kind);
  }
  /** Epoch of each live checkpoint. */
  liveEpochs(): number[] {
    return keptCheckpoints(this.state).map((c) => c.epoch);
  }
}

/** Deterministic pseudo-random numbers (mulberry32) for property tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
