import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPolicy } from '../src/policy/index.js';
import { EventLog, Sim } from './policy.fixtures.js';

const stopEpoch = (sim: Sim) => sim.decisions.find((d) => d.kind === 'stop')?.epoch ?? null;

/** Feed epochs until the first stop (like a trainer that obeys it). */
function runUntilStop(config: Record<string, unknown>, losses: number[]): Sim {
  const sim = new Sim(createPolicy(config));
  for (let i = 0; i < losses.length && stopEpoch(sim) === null; i++) sim.epoch(i + 1, { loss: losses[i], val_loss: losses[i] });
  return sim;
}

// Keras EarlyStopping: wait counts every epoch after start_from_epoch; an improvement (beyond min_delta) resets it
// only if it also beats the baseline; stop when wait >= patience (never on the first epoch).
const esTable: Array<[string, Record<string, unknown>, number[], number | null]> = [
  ['patience 0 stops at the first non-improvement', { patience: 0 }, [0.5, 0.4, 0.45, 0.3], 3],
  ['patience 2', { patience: 2 }, [0.5, 0.4, 0.45, 0.44, 0.3], 4],
  ['patience 2, improvement resets the counter', { patience: 2 }, [0.5, 0.6, 0.4, 0.45, 0.41, 0.3], 5],
  ['min_delta 0.05 makes small gains not count', { patience: 2, min_delta: 0.05 }, [0.5, 0.47, 0.46, 0.3], 3],
  ['baseline 0.3 not beaten: the first non-improvement after patience epochs stops', { patience: 3, baseline: 0.3 }, [0.5, 0.45, 0.4, 0.41, 0.2], 4],
  ['baseline beaten behaves normally', { patience: 2, baseline: 0.6 }, [0.5, 0.45, 0.4, 0.35, 0.36, 0.37], 6],
  ['start_from_epoch 3 ignores the first 3 epochs', { patience: 1, start_from_epoch: 3 }, [0.5, 0.6, 0.7, 0.4, 0.45], 5],
  ['monitor max (val_acc)', { monitor: 'val_acc', patience: 1 }, [0.5, 0.6, 0.55], 3],
  ['never stops while improving', { patience: 1 }, [0.5, 0.4, 0.3, 0.2], null],
];
for (const [name, config, losses, expected] of esTable) {
  test(`given ${name}, when epochs end, then stop is decided at epoch ${expected}`, () => {
    const sim = config.monitor === 'val_acc'
      ? (() => { const s = new Sim(createPolicy(config)); for (let i = 0; i < losses.length && stopEpoch(s) === null; i++) s.epoch(i + 1, { val_acc: losses[i] }); return s; })()
      : runUntilStop(config, losses);
    assert.is(stopEpoch(sim), expected);
  });
}

test('given patience 5 and restore_best_weights, when val_loss stalls, then stop + restore name the best epoch and its checkpoint', () => {
  const losses = [0.5, 0.4, 0.2981, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36];
  const sim = runUntilStop({ save_best_only: true, patience: 5, restore_best_weights: true }, losses);
  const stop = sim.decisions.find((d) => d.kind === 'stop')!;
  const restore = sim.decisions.find((d) => d.kind === 'restore')!;
  assert.is(stop.reason, 'early stop: val_loss did not improve for 5 epochs; restoring epoch 3 (best)');
  assert.is(stop.epoch, 8);
  assert.is(stop.previous, 0.2981);
  assert.is(restore.checkpoint, 'ckpt-3');
  assert.is(restore.epoch, 3);
  assert.is(restore.reason, 'restoring ckpt-3 (epoch 3, val_loss 0.2981, best)');
  assert.is(restore.causeSeq, stop.causeSeq);
});

test('given restore_best_weights with saves only every 5 epochs, when the best epoch is not a save epoch, then it is saved anyway', () => {
  const sim = runUntilStop({ everyNEpochs: 5, patience: 2, restore_best_weights: true }, [0.5, 0.3, 0.4, 0.45, 0.5]);
  const saves = sim.decisions.filter((d) => d.kind === 'save');
  assert.equal(saves.map((d) => [d.epoch, d.rule]), [[1, 'restoreBestWeights'], [2, 'restoreBestWeights']]);
  assert.is(sim.decisions.find((d) => d.kind === 'restore')!.checkpoint, 'ckpt-2');
  assert.equal(sim.liveEpochs(), [1, 2]);
});

test('given the best epoch save is still in flight at the stop, when it commits, then the restore is decided then', () => {
  const policy = createPolicy({ patience: 0, restore_best_weights: true, keepLast: 1 });
  const log = new EventLog();
  let state = policy.init();
  const feed = (e: ReturnType<EventLog['push']>) => { const r = policy.decide(state, e); state = r.state; return r.decisions; };
  feed(log.started());
  const first = feed(log.epoch(1, { val_loss: 0.5 }));
  const stop = feed(log.epoch(2, { val_loss: 0.6 }));
  assert.equal(first.map((d) => d.kind), ['save']);
  assert.equal(stop.map((d) => d.kind), ['save', 'stop']);
  const commit = feed(log.commit('ckpt-1', 1, 10, { val_loss: 0.5 }));
  assert.equal(commit.map((d) => [d.kind, d.checkpoint]), [['restore', 'ckpt-1']]);
  // keepLast 1 must not prune the restore target when the next commit lands.
  const later = feed(log.commit('ckpt-2', 2, 20, { val_loss: 0.6 }));
  assert.equal(later.filter((d) => d.kind === 'prune').map((d) => d.checkpoint), []);
});

test('given terminate_on_nan, when a batch reports loss NaN, then training stops with the Keras reason', () => {
  const sim = new Sim(createPolicy({ terminate_on_nan: true }));
  sim.epoch(1, { loss: 0.5, val_loss: 0.5 });
  const out = sim.feed(sim.log.batch(2, 17, { loss: NaN }));
  assert.equal(out.map((d) => [d.kind, d.rule]), [['stop', 'terminateOnNaN']]);
  assert.is(out[0].reason, 'loss is nan at epoch 2, batch 17; terminating training');
  assert.is(sim.state.progress.stopped, true);
  assert.equal(sim.feed(sim.log.batch(2, 18, { loss: NaN })), []);
});

test('given load_best_model_at_end (HF), when training ends, then the best checkpoint by the monitor is restored', () => {
  const sim = new Sim(createPolicy({ load_best_model_at_end: true, save_total_limit: 1 }));
  sim.losses([0.5, 0.3, 0.4, 0.45]);
  const out = sim.feed(sim.log.ended(4, 40));
  assert.equal(out.map((d) => [d.kind, d.checkpoint]), [['restore', 'ckpt-2']]);
});

test('given load_best_model_at_end while the best save is in flight, when it commits, then the restore follows it', () => {
  const policy = createPolicy({ load_best_model_at_end: true, save_best_only: true });
  const log = new EventLog();
  let state = policy.init();
  const feed = (e: ReturnType<EventLog['push']>) => { const r = policy.decide(state, e); state = r.state; return r.decisions; };
  feed(log.started());
  feed(log.epoch(1, { val_loss: 0.5 }));
  feed(log.commit('ckpt-1', 1, 10, { val_loss: 0.5 }));
  feed(log.epoch(2, { val_loss: 0.3 }));
  assert.equal(feed(log.ended(2, 20)), []);
  assert.equal(feed(log.commit('ckpt-2', 2, 20, { val_loss: 0.3 })).map((d) => [d.kind, d.rule, d.checkpoint]), [['restore', 'restoreBestAtEnd', 'ckpt-2']]);
});

test('given a crash after unsaved epochs, when the run resumes from its checkpoint, then re-run epochs are judged as before', () => {
  const sim = new Sim(createPolicy({ save_best_only: true, everyNEpochs: 1, patience: 3 }));
  sim.losses([0.5, 0.4]);
  // epoch 3 improves but its save never commits (crash); epoch 4 does not improve.
  sim.state = createPolicy({ save_best_only: true, patience: 3 }).decide(sim.state, sim.log.epoch(3, { val_loss: 0.3 })).state;
  sim.epoch(4, { val_loss: 0.35 });
  assert.is(sim.state.progress.monitors[0].best, 0.3);
  sim.feed(sim.log.push('RunResumed', { run: 'run-1', fromCheckpoint: 'ckpt-2', epoch: 2, step: 20, attempt: 1, reason: 'resume' }));
  assert.is(sim.state.progress.monitors[0].best, 0.4);
  assert.is(sim.state.progress.es!.wait, 0);
  const rerun = sim.epoch(3, { val_loss: 0.3 });
  assert.equal(rerun.map((d) => [d.kind, d.epoch]), [['save', 3]]);
  assert.is(rerun[0].reason, 'val_loss improved from 0.4000 to 0.3000, saving checkpoint');
});

test('given a restart with no checkpoint, when the run resumes from nothing, then progress starts over', () => {
  const sim = new Sim(createPolicy({ save_best_only: true, patience: 2 }));
  sim.losses([0.5, 0.6]);
  sim.feed(sim.log.push('RunResumed', { run: 'run-1', fromCheckpoint: null, epoch: 0, step: 0, attempt: 1, reason: 'restart' }));
  assert.is(sim.state.progress.monitors[0].best, null);
  assert.is(sim.state.progress.es!.wait, 0);
  assert.is(sim.epoch(1, { val_loss: 0.7 })[0].kind, 'save');
});

test.run();
