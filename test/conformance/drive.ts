/**
 * Conformance drivers: a case is a policy config (in one library's names) and a recorded run (ledger events
 * built by `Recording`); a driver runs the case and reports an `Outcome` the case asserts on.
 *
 * `replayDriver` is the pure path: `replay(events, config)` (the same code `ckpt replay --policy` runs), where
 * every save is committed at once at the deciding event's time. `callbacksDriver` (callbacks-driver.ts) is the
 * in-process callbacks path: the config as ModelCheckpoint / EarlyStopping / TerminateOnNaN options in a real
 * tfjs `fit`, on the one decision processor and the real store. A case with `callbacks: true` runs through both
 * (its config is expressible as callback options and its recording is epochs and batches a fit() produces), and
 * asserts the same outcome of each.
 */
import { test } from 'uvu';
import type { LedgerEvent } from '../../ledger/types.js';
import type { Decision, Metrics } from '../../src/events.js';
import { keptCheckpoints, replay, type PolicyState, type SavePredicate } from '../../src/policy/index.js';
import { EventLog, RUN } from '../policy.fixtures.js';
import { callbacksDriver } from './callbacks-driver.js';

export type Outcome = {
  decisions: Decision[];
  /** `save` decisions as epochs (epoch-end saves) or `epoch@step` (batch saves). */
  saves: string[];
  /** Kept checkpoints at the end as epochs (or `epoch@step` for batch saves), commit order. */
  kept: string[];
  /** Epoch of the first `stop` decision, or null. */
  stopEpoch: number | null;
  /** Epoch of each `restore` decision. */
  restores: number[];
  state: PolicyState;
};

export type Driver = { name: string; run(config: unknown, recording: Recording, options?: { predicate?: SavePredicate }): Promise<Outcome> };

export type Case = {
  /** Given/when/then, ending with the source: repository, file, test name (or the documented behaviour). */
  title: string;
  /** The case also applies to the in-process callbacks (see the header). */
  callbacks?: boolean;
  run(driver: Driver): void | Promise<void>;
};

/** A recorded run: RunStarted, then epochs, batches, resumes and the end, at controlled event times. */
export class Recording {
  readonly log = new EventLog();
  constructor(startAt?: number) {
    if (startAt !== undefined) this.log.at = startAt - 1000;
    this.log.started();
  }
  /** Epochs 1..n (after the last recorded epoch) with `metric` taking `values` (NaN allowed). */
  epochs(values: number[], metric = 'val_loss', extra: Metrics = {}): this {
    for (const v of values) this.epoch({ [metric]: v, ...extra });
    return this;
  }
  epoch(metrics: Metrics, opts: { step?: number; at?: number } = {}): this {
    const epoch = this.lastEpoch + 1;
    this.log.epoch(epoch, metrics, { step: opts.step ?? this.lastStep + 10, at: opts.at });
    return this;
  }
  /** A batch at `step` of the current epoch (the next epoch to end). */
  batch(step: number, metrics: Metrics = { loss: 1 }, at?: number): this {
    this.log.batch(this.lastEpoch + 1, step, metrics, at);
    return this;
  }
  resumed(fromCheckpoint: string | null, epoch: number, step: number, at: number): this {
    this.log.push('RunResumed', { run: RUN, fromCheckpoint, epoch, step, attempt: 1, reason: 'resume' }, at);
    return this;
  }
  ended(reason: 'done' | 'stopped' | 'early-stop' = 'done'): this {
    this.log.ended(this.lastEpoch, this.lastStep, reason);
    return this;
  }
  get events(): LedgerEvent[] {
    return this.log.events;
  }
  private get lastEpoch(): number {
    const e = [...this.log.events].reverse().find((x) => x.type === 'EpochEnded' || x.type === 'RunResumed');
    return e ? (e.data as { epoch: number }).epoch : 0;
  }
  private get lastStep(): number {
    const e = [...this.log.events].reverse().find((x) => x.type === 'EpochEnded' || x.type === 'BatchEnded' || x.type === 'RunResumed');
    return e ? (e.data as { step: number }).step : 0;
  }
}

const point = (epoch: number, step: number, batch: boolean): string => (batch ? `${epoch}@${step}` : String(epoch));

/** The pure policy through `replay` (saves commit at once; prunes complete at once). */
export const replayDriver: Driver = {
  name: 'replay',
  async run(config, recording, options = {}) {
    const result = replay(recording.events, config, { predicate: options.predicate });
    const batchSaves = new Set(result.decisions.filter((d) => d.kind === 'save' && result.state && isBatchCause(recording, d)).map((d) => d.causeSeq));
    const saves = result.decisions.filter((d) => d.kind === 'save').map((d) => point(d.epoch!, d.step!, batchSaves.has(d.causeSeq)));
    const kept = keptCheckpoints(result.state).map((c) => point(c.epoch, c.step, c.id.includes('@step-')));
    const stop = result.decisions.find((d) => d.kind === 'stop');
    return {
      decisions: result.decisions,
      saves,
      kept,
      stopEpoch: stop ? stop.epoch ?? null : null,
      restores: result.decisions.filter((d) => d.kind === 'restore').map((d) => d.epoch!),
      state: result.state,
    };
  },
};

function isBatchCause(recording: Recording, d: Decision): boolean {
  return recording.events.find((e) => e.seq === d.causeSeq)?.type === 'BatchEnded';
}

/** Drivers every case runs through (a case without `callbacks` runs through the pure ones only). */
export const DRIVERS: Driver[] = [replayDriver, callbacksDriver];

/** Register the cases of one anchor's suite with uvu, once per applicable driver. */
export function suite(cases: Case[]): void {
  for (const driver of DRIVERS) {
    for (const c of cases) {
      if (driver.name === 'callbacks' && !c.callbacks) continue;
      test(`[${driver.name}] ${c.title}`, async () => {
        try {
          await c.run(driver);
        } catch (error) {
          // uvu formats `details` as an assertion diff (a string); a CkptError's details object would abort the suite.
          const e = error as { code?: string; message?: string; details?: unknown };
          if (e && typeof e.details === 'object') throw new Error(`${e.code}: ${e.message}`, { cause: error });
          throw error;
        }
      });
    }
  }
  test.run();
}

/** The error a config throws (parse errors are part of the semantics). */
export function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the config to be rejected');
}
