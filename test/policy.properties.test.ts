import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Packr } from 'msgpackr';
import type { LedgerEvent } from '../ledger/types.js';
import type { Decision, Metrics } from '../src/events.js';
import { DECISION_EVENT } from '../src/events.js';
import { createPolicy, keptCheckpoints, type Policy, type PolicyState } from '../src/policy/index.js';
import { EventLog, HOUR, rng } from './policy.fixtures.js';

const CONFIGS: unknown[] = [
  'normal',
  { preset: 'long', keepEveryNHours: 0.5, everyNEpochs: 2, patience: 4, restore_best_weights: true },
  { monitors: ['val_loss', 'val_acc'], keepTopK: 2, keepLast: 1, everyNSteps: 25, terminate_on_nan: true },
  { keepLast: 1, keep_checkpoint_every_n_hours: 1, save_last: true, backup: { target: '/b', onBest: true, atEnd: true } },
  { preset: 'short', patience: 2, restore_best_weights: true, keep_period: 3 },
  { save_top_k: 1, everyNEpochs: 1, restoreBestAtEnd: true, monitors: [{ metric: 'val_acc', mode: 'max' }] },
  // issue 13's options: Lightning ties and save_last link, tf checkpoint_interval, Keras save_best_only on batches.
  { monitor: 'val_loss', save_top_k: 3, save_last: 'link', checkpoint_interval: 15, patience: 3, restore_best_weights: true },
  { monitor: 'loss', save_best_only: true, save_freq: 20, max_to_keep: 2, keep_checkpoint_every_n_hours: 1 },
];

type Live = { id: string; epoch: number; metrics: Metrics; healthy: boolean };

/**
 * Drive a policy with a random but seeded training run: NaN and missing metrics, sampled batches, delayed
 * commits, pins, corruption, resumes, clock jumps. Checks the protection invariant on every prune.
 */
function randomRun(policy: Policy, seed: number, steps = 160): { events: LedgerEvent[]; decisions: Decision[]; violations: string[] } {
  const rand = rng(seed);
  const log = new EventLog();
  let state: PolicyState = policy.init();
  const decisions: Decision[] = [];
  const violations: string[] = [];
  const live: Live[] = [];
  const pinned = new Set<string>();
  let resumedFrom: string | null = null;
  const queue: Decision[] = [];
  let commits = 0;
  let epoch = 0;
  let step = 0;
  const metricsOf = new Map<number, Metrics>();

  const bestIds = (): Set<string> => {
    const ids = new Set<string>();
    for (const m of policy.config.monitors) {
      let best: Live | undefined;
      for (const c of live) {
        const v = c.metrics[m.metric];
        if (!c.healthy || v === undefined || !Number.isFinite(v)) continue;
        if (!best || (m.mode === 'min' ? v < best.metrics[m.metric] : v > best.metrics[m.metric])) best = c;
      }
      if (best) ids.add(best.id);
    }
    return ids;
  };
  const feed = (e: LedgerEvent): void => {
    const r = policy.decide(state, e);
    state = r.state;
    const best = bestIds();
    const latest = live.at(-1)?.id;
    for (const d of r.decisions) {
      decisions.push(d);
      log.push(DECISION_EVENT[d.kind], d, log.at);
      if (d.kind === 'save') queue.push(d);
      if (d.kind === 'prune') {
        const id = d.checkpoint!;
        if (pinned.has(id)) violations.push(`pruned pinned ${id}`);
        if (id === latest) violations.push(`pruned latest ${id}`);
        if (id === resumedFrom) violations.push(`pruned resumed-from ${id}`);
        if (best.has(id)) violations.push(`pruned best ${id}`);
        const at = live.findIndex((c) => c.id === id);
        if (at < 0) violations.push(`pruned unknown ${id}`);
        else live.splice(at, 1);
        if (rand() < 0.8) feed(log.push('CheckpointPruned', { checkpoint: id, intentSeq: log.seq, blobsDeleted: 1, bytesFreed: 1 }));
      }
    }
  };
  const commitOne = (): void => {
    const d = queue.shift()!;
    const id = `ckpt-${++commits}`;
    const metrics = metricsOf.get(d.epoch!) ?? {};
    live.push({ id, epoch: d.epoch!, metrics, healthy: true });
    feed(log.commit(id, d.epoch!, d.step!, metrics, d.labels, log.at + 1));
  };

  feed(log.started());
  for (let i = 0; i < steps; i++) {
    const x = rand();
    if (queue.length && rand() < 0.7) commitOne();
    if (x < 0.5) {
      epoch++;
      step += 10;
      const loss = rand() < 0.05 ? NaN : 0.2 + rand();
      const metrics: Metrics = { loss, val_loss: loss + rand() * 0.1, val_acc: rand() };
      if (rand() < 0.05) delete metrics.val_loss;
      metricsOf.set(epoch, metrics);
      feed(log.epoch(epoch, metrics, { step, at: log.at + Math.floor(rand() * 0.4 * HOUR) }));
    } else if (x < 0.62) {
      step += 3;
      feed(log.batch(epoch + 1, step, { loss: rand() < 0.03 ? NaN : rand() }));
    } else if (x < 0.68 && live.length) {
      const c = live[Math.floor(rand() * live.length)];
      pinned.add(c.id);
      feed(log.push('CheckpointPinned', { checkpoint: c.id }));
    } else if (x < 0.74 && pinned.size) {
      const id = [...pinned][Math.floor(rand() * pinned.size)];
      pinned.delete(id);
      feed(log.push('CheckpointUnpinned', { checkpoint: id }));
    } else if (x < 0.8 && live.length) {
      const c = live[Math.floor(rand() * live.length)];
      c.healthy = rand() < 0.5 ? false : true;
      feed(log.push(c.healthy ? 'CheckpointVerified' : 'CheckpointCorrupted', { checkpoint: c.id, blob: 'b', expected: 'x', actual: 'y', detail: 'd', blobs: 1, bytes: 1 }));
    } else if (x < 0.84) {
      const c = live.length && rand() < 0.8 ? live[Math.floor(rand() * live.length)] : null;
      queue.length = 0;
      resumedFrom = c ? c.id : null;
      epoch = c ? c.epoch : 0;
      step = c ? epoch * 10 : 0;
      feed(log.push('RunResumed', { run: 'run-1', fromCheckpoint: resumedFrom, epoch, step, attempt: 1, reason: c ? 'resume' : 'restart' }));
    } else if (x < 0.87) {
      log.at -= Math.floor(rand() * 5 * HOUR); // the clock jumps backwards
    } else if (x < 0.89) {
      feed(log.ended(epoch, step, 'stopped'));
    }
  }
  while (queue.length) commitOne();
  return { events: log.events, decisions, violations };
}

function fold(policy: Policy, events: LedgerEvent[], from?: PolicyState): { state: PolicyState; decisions: Decision[] } {
  let state = from ?? policy.init();
  const decisions: Decision[] = [];
  for (const e of events) {
    const r = policy.decide(state, e);
    state = r.state;
    decisions.push(...r.decisions);
  }
  return { state, decisions };
}

const packr = new Packr({ useRecords: false });

CONFIGS.forEach((config, ci) => {
  test(`given random runs under config #${ci}, when every prune is checked, then pinned/latest/resumed-from/best are never pruned`, () => {
    let prunes = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const run = randomRun(createPolicy(config), seed * 7919 + ci);
      assert.equal(run.violations, [], `seed ${seed}`);
      prunes += run.decisions.filter((d) => d.kind === 'prune').length;
    }
    if ((createPolicy(config).config.keepLast ?? createPolicy(config).config.keepTopK) !== null) assert.ok(prunes > 0, 'the runs exercised pruning');
  });

  test(`given a recorded random run under config #${ci}, when refolded twice, then decisions are identical to the live ones`, () => {
    const run = randomRun(createPolicy(config), 1000 + ci);
    const a = fold(createPolicy(config), run.events);
    const b = fold(createPolicy(config), run.events);
    assert.equal(a.decisions, run.decisions);
    assert.equal(b.decisions, a.decisions);
    assert.equal(b.state, a.state);
  });

  test(`given a recorded random run under config #${ci}, when folded to a crash point, snapshotted with msgpack and continued, then state equals the uninterrupted fold`, () => {
    const run = randomRun(createPolicy(config), 2000 + ci);
    const whole = fold(createPolicy(config), run.events);
    for (const cut of [1, Math.floor(run.events.length / 3), Math.floor(run.events.length * 0.77), run.events.length - 1]) {
      const head = fold(createPolicy(config), run.events.slice(0, cut));
      const restored = packr.unpack(packr.pack(head.state)) as PolicyState;
      const tail = fold(createPolicy(config), run.events.slice(cut), restored);
      assert.equal(tail.state, whole.state, `cut ${cut}`);
      assert.equal([...head.decisions, ...tail.decisions], whole.decisions, `cut ${cut}`);
    }
  });
});

test('given random runs, when another policy folds every event in between (so nothing the reducers cache between events survives), then decisions and kept checkpoints are the same as folded alone', () => {
  CONFIGS.forEach((config, ci) => {
    const run = randomRun(createPolicy(config), 3000 + ci, 400);
    const alone = fold(createPolicy(config), run.events);
    const policy = createPolicy(config);
    const other = createPolicy({ monitors: ['val_acc'], keepTopK: 2, keepLast: 1, keepEveryNHours: 1 });
    let state = policy.init();
    let otherState = other.init();
    const decisions: Decision[] = [];
    for (const e of run.events) {
      const r = policy.decide(state, e);
      state = r.state;
      decisions.push(...r.decisions);
      otherState = other.decide(otherState, e).state;
    }
    assert.equal(decisions, alone.decisions, `config #${ci}`);
    assert.equal(keptCheckpoints(state).map((c) => c.id), keptCheckpoints(alone.state).map((c) => c.id), `config #${ci}`);
  });
});

test.run();
