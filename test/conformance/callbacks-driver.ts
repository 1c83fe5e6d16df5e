/**
 * The in-process callbacks driver: a case's config becomes the tfjs callbacks a user would write
 * (ModelCheckpoint, EarlyStopping, TerminateOnNaN, with the option names of docs/callbacks.md), and its recording
 * becomes a real `model.fit` (@tensorflow/tfjs, cpu backend) whose logs carry the recorded metrics. The callbacks
 * run their own code end to end — LedgerCallback, FitRun, the one DecisionProcessor, the store — and the outcome
 * is read back from what the fit left in its ckpt directory: decisions from the ledger, `kept` from the read model
 * (checkpoints that exist), `state` from the run's policy projection.
 *
 * How a recording plays as a fit:
 * - every epoch has the same number of steps (the first epoch's); one sample per batch, so steps match;
 * - a scripted callback, first in the list, writes the recorded metrics into tfjs's logs at each recorded epoch or
 *   batch end (others keep tfjs's own values) and sets the clock (Date.now, which the ledger stamps events with)
 *   to the recorded event time, so timed triggers see the recorded times;
 * - `ended('stopped')` is another callback setting `model.stopTraining` after the last recorded epoch;
 *   `ended('done')` or no end is fit running out of epochs (a fit always ends);
 * - batches after the last recorded epoch are the start of one more epoch, which a stop decision ends (tfjs then
 *   ends that partial epoch with its own logs, as Keras does).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEvent } from '../../ledger/types.js';
import { DECISION_TYPES, type Decision, type Metrics, type TrainingEnded } from '../../src/events.js';
import { createPolicy, parsePolicyConfig, policyProjection, type PolicyState } from '../../src/policy/index.js';
import { findBySeq } from '../../src/projections/append-only.js';
import { runCheckpointIds } from '../../src/projections/catalog.js';
import { EarlyStopping, type EarlyStoppingArgs } from '../../src/tfjs/callbacks/early-stopping.js';
import { ModelCheckpoint, type ModelCheckpointArgs } from '../../src/tfjs/callbacks/model-checkpoint.js';
import { TerminateOnNaN } from '../../src/tfjs/callbacks/terminate-on-nan.js';
import { openWorkspace } from '../../src/workspace.js';
import type { Driver, Outcome, Recording } from './drive.js';

/** Config keys (the cases' Keras / Lightning names) → ModelCheckpoint options. */
const CHECKPOINT: Record<string, (v: any) => Partial<ModelCheckpointArgs>> = {
  save_best_only: (v) => ({ saveBestOnly: v }),
  save_freq: (v) => ({ saveFreq: v }),
  initial_value_threshold: (v) => ({ initialValueThreshold: v }),
  period: (v) => ({ everyNEpochs: v }),
  every_n_epochs: (v) => ({ everyNEpochs: v }),
  every_n_train_steps: (v) => ({ saveFreq: v }),
  train_time_interval: (v) => ({ trainTimeInterval: v }),
  save_top_k: (v) => ({ keepTopK: v }),
  save_last: (v) => ({ saveLast: v }),
  // Lightning runs its epoch-end check after training or after validation; a tfjs epoch end comes after
  // validation and its logs carry both (docs/policy.md, save_on_train_epoch_end): there is nothing to choose.
  save_on_train_epoch_end: () => ({}),
};

/** Config keys → EarlyStopping options (Keras's names; `early_stopping: {...}` nests them). */
const STOPPING: Record<string, (v: any) => Partial<EarlyStoppingArgs>> = {
  patience: (v) => ({ patience: v }),
  baseline: (v) => ({ baseline: v }),
  restore_best_weights: (v) => ({ restoreBestWeights: v }),
  start_from_epoch: (v) => ({ startFromEpoch: v }),
  min_delta: (v) => ({ minDelta: v }),
};

/** The callbacks a user would write for `config`, writing to `dir`. */
export function callbacksFor(config: unknown, dir: string): tf.Callback[] {
  const input = { ...(config as Record<string, unknown>) };
  const nested = input.early_stopping as Record<string, unknown> | undefined;
  delete input.early_stopping;
  const shared: { monitor?: string; mode?: 'auto' | 'min' | 'max' } = {};
  let checkpoint: Partial<ModelCheckpointArgs> | undefined;
  let stopping: Partial<EarlyStoppingArgs> | undefined;
  let terminate = false;
  for (const [key, value] of Object.entries(input)) {
    if (key === 'monitor' || key === 'mode') Object.assign(shared, { [key]: value });
    else if (key === 'terminate_on_nan') terminate = value === true;
    else if (CHECKPOINT[key]) checkpoint = { ...checkpoint, ...CHECKPOINT[key](value) };
    else if (STOPPING[key]) stopping = { ...stopping, ...STOPPING[key](value) };
    else throw new Error(`the callbacks driver has no callback option for "${key}"`);
  }
  if (nested) {
    const { monitor, mode, ...rest } = nested;
    stopping = { ...stopping, ...(monitor !== undefined ? { monitor: monitor as string } : {}), ...(mode !== undefined ? { mode: mode as 'min' } : {}) };
    for (const [key, value] of Object.entries(rest)) {
      if (!STOPPING[key]) throw new Error(`the callbacks driver has no EarlyStopping option for "early_stopping.${key}"`);
      stopping = { ...stopping, ...STOPPING[key](value) };
    }
  }
  const callbacks: tf.Callback[] = [];
  // No stopping or NaN keys at all is a ModelCheckpoint (the policy's default is ModelCheckpoint()'s).
  if (checkpoint || (!stopping && !terminate)) callbacks.push(new ModelCheckpoint({ dir, ...shared, ...checkpoint }));
  if (stopping) callbacks.push(new EarlyStopping({ dir, ...(nested ? {} : shared), ...stopping }));
  if (terminate) callbacks.push(new TerminateOnNaN({ dir, log: () => {} }));
  return callbacks;
}

interface Recorded { step: number; metrics: Metrics; at: number }

/** What a fit has to reproduce: the recording's epochs, batches, end and times. */
interface Plan {
  startAt: number;
  epochs: Recorded[];
  batches: Map<number, Recorded>;
  stepsPerEpoch: number;
  fitEpochs: number;
  ended: TrainingEnded['reason'] | null;
}

function planOf(recording: Recording): Plan {
  const plan: Plan = { startAt: 0, epochs: [], batches: new Map(), stepsPerEpoch: 0, fitEpochs: 0, ended: null };
  for (const e of recording.events) {
    const d = e.data as { epoch: number; step: number; metrics: Metrics; reason: TrainingEnded['reason'] };
    if (e.type === 'RunStarted') plan.startAt = e.at;
    else if (e.type === 'EpochEnded') plan.epochs.push({ step: d.step, metrics: d.metrics, at: e.at });
    else if (e.type === 'BatchEnded') plan.batches.set(d.step, { step: d.step, metrics: d.metrics, at: e.at });
    else if (e.type === 'TrainingEnded') plan.ended = d.reason;
    else throw new Error(`a fit cannot reproduce a recorded ${e.type}`);
  }
  plan.stepsPerEpoch = plan.epochs[0]?.step ?? Math.max(...plan.batches.keys());
  plan.epochs.forEach((e, i) => {
    if (e.step !== (i + 1) * plan.stepsPerEpoch) throw new Error(`epoch ${i + 1} ends at step ${e.step}; a fit has ${plan.stepsPerEpoch} steps per epoch`);
  });
  const lastEpochStep = plan.epochs.length * plan.stepsPerEpoch;
  plan.fitEpochs = plan.epochs.length + ([...plan.batches.keys()].some((s) => s > lastEpochStep) ? 1 : 0);
  return plan;
}

/** Replace the metrics in tfjs's logs object (the same object every later callback receives). */
function writeLogs(logs: tf.Logs | undefined, metrics: Metrics): void {
  if (!logs) throw new Error('tfjs passed no logs');
  for (const key of Object.keys(logs)) if (key !== 'batch' && key !== 'size') delete logs[key];
  Object.assign(logs, metrics);
}

/** Plays the recording into the fit: recorded metrics into the logs, recorded times onto the clock. */
class Script extends tf.Callback {
  private epochIndex = 0;
  constructor(private readonly plan: Plan, private readonly clock: { now: number }) {
    super();
  }
  override async onTrainBegin(): Promise<void> {
    this.clock.now = this.plan.startAt;
  }
  override async onEpochBegin(epoch: number): Promise<void> {
    this.epochIndex = epoch;
  }
  override async onBatchEnd(batch: number, logs?: tf.Logs): Promise<void> {
    const recorded = this.plan.batches.get(this.epochIndex * this.plan.stepsPerEpoch + batch + 1);
    if (!recorded) return;
    writeLogs(logs, recorded.metrics);
    this.clock.now = recorded.at;
  }
  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    const recorded = this.plan.epochs[epoch];
    if (!recorded) return;
    writeLogs(logs, recorded.metrics);
    this.clock.now = recorded.at;
    if (this.plan.ended === 'stopped' && epoch === this.plan.epochs.length - 1) (this.model as tf.LayersModel).stopTraining = true;
  }
}

const point = (epoch: number, step: number, batch: boolean): string => (batch ? `${epoch}@${step}` : String(epoch));

/** Fit a one-weight model on `plan`, with `callbacks` after the script; event times follow the recording. */
async function fit(plan: Plan, callbacks: tf.Callback[]): Promise<void> {
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], kernelInitializer: 'zeros' })] });
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  const x = tf.ones([plan.stepsPerEpoch, 1]);
  const y = tf.ones([plan.stepsPerEpoch, 1]);
  const clock = { now: plan.startAt };
  const realNow = Date.now;
  Date.now = () => clock.now;
  try {
    await model.fit(x, y, { epochs: plan.fitEpochs, batchSize: 1, shuffle: false, verbose: 0, callbacks: [new Script(plan, clock), ...callbacks] });
  } finally {
    Date.now = realNow;
    tf.dispose([x, y]);
    model.dispose();
  }
}

/** The outcome, read from what the fit left in `dir`. */
async function outcomeOf(dir: string, plan: Plan): Promise<Outcome> {
  const ws = await openWorkspace(dir);
  try {
    const events: LedgerEvent[] = [];
    for await (const e of ws.ledger.read()) events.push(e);
    const started = events.find((e) => e.type === 'RunStarted')!.data as { run: string; policy: Record<string, unknown> };
    const ended = events.find((e) => e.type === 'TrainingEnded')?.data as TrainingEnded | undefined;
    const expected = plan.ended ?? 'done';
    if (ended?.reason !== expected && !(ended?.reason === 'early-stop' && expected === 'done')) {
      throw new Error(`the fit recorded TrainingEnded (${ended?.reason}); the recording ended ${expected}`);
    }
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    const isBatch = (d: Decision) => bySeq.get(d.causeSeq)?.type === 'BatchEnded';
    const decisions = events.filter((e) => DECISION_TYPES.includes(e.type)).map((e) => e.data as Decision);
    const catalog = ws.store.catalog();
    const kept = runCheckpointIds(catalog, started.run).map((id) => catalog.checkpoints[id]).filter((c) => c.status === 'kept').map((c) => {
      const decided = c.decisionSeq === undefined ? undefined : findBySeq(catalog.decisions, c.decisionSeq);
      if (!decided) throw new Error(`${c.id} has no deciding save`);
      return point(decided.epoch!, decided.step!, isBatch(decided));
    });
    const policy = createPolicy(parsePolicyConfig(started.policy));
    const state = await ws.ledger.register<PolicyState>(policyProjection(policy, started.run));
    const stop = decisions.find((d) => d.kind === 'stop');
    return {
      decisions,
      saves: decisions.filter((d) => d.kind === 'save').map((d) => point(d.epoch!, d.step!, isBatch(d))),
      kept,
      stopEpoch: stop ? stop.epoch ?? null : null,
      restores: decisions.filter((d) => d.kind === 'restore').map((d) => d.epoch!),
      state,
    };
  } finally {
    await ws.close();
  }
}

/** ModelCheckpoint / EarlyStopping / TerminateOnNaN in a real tfjs fit (see the header). */
export const callbacksDriver: Driver = {
  name: 'callbacks',
  async run(config, recording, options = {}) {
    if (options.predicate) throw new Error('a save predicate is no callback option');
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-conformance-'));
    try {
      const plan = planOf(recording);
      await fit(plan, callbacksFor(config, dir));
      return await outcomeOf(dir, plan);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
