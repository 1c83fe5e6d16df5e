import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPolicy } from '../src/policy/index.js';
import { EventLog, HOUR, Sim } from './policy.fixtures.js';

const saveEpochs = (sim: Sim) => sim.decisions.filter((d) => d.kind === 'save').map((d) => d.epoch);

// Keras ModelCheckpoint(save_best_only=True): save on strict improvement (best starts at inf, or the threshold).
const bestOnlyTable: Array<[string, Record<string, unknown>, number[], number[]]> = [
  ['save_best_only min', { save_best_only: true }, [0.5, 0.4, 0.45, 0.4, 0.3], [1, 2, 5]],
  ['equal value is not an improvement', { save_best_only: true }, [0.5, 0.5, 0.5], [1]],
  ['minDelta 0.05', { save_best_only: true, minDelta: 0.05 }, [0.5, 0.46, 0.44, 0.3], [1, 3, 4]],
  ['initial_value_threshold 0.45', { save_best_only: true, initial_value_threshold: 0.45 }, [0.5, 0.46, 0.44, 0.45, 0.4], [3, 5]],
  ['check every 2 epochs (save_freq as check frequency)', { save_best_only: true, everyNEpochs: 2 }, [0.1, 0.5, 0.4, 0.55, 0.3, 0.2], [2, 6]],
];
for (const [name, config, losses, expected] of bestOnlyTable) {
  test(`given ${name} and val_loss ${losses.join(',')}, when epochs end, then saves at epochs ${expected.join(',')}`, () => {
    const sim = new Sim(createPolicy(config));
    sim.losses(losses);
    assert.equal(saveEpochs(sim), expected);
  });
}

test('given save_best_only on val_acc (auto → max), when accuracy rises and falls, then saves only rises', () => {
  const sim = new Sim(createPolicy({ monitor: 'val_acc', save_best_only: true }));
  [0.6, 0.7, 0.65, 0.71].forEach((a, i) => sim.epoch(i + 1, { val_acc: a }));
  assert.equal(saveEpochs(sim), [1, 2, 4]);
});

test('given save_best_only, when val_loss improves then stalls, then reasons use the Keras voice with 4 decimals', () => {
  const sim = new Sim(createPolicy({ save_best_only: true }));
  const first = sim.epoch(1, { val_loss: 0.312 });
  const second = sim.epoch(2, { val_loss: 0.29812 });
  const third = sim.epoch(3, { val_loss: 0.3 });
  assert.is(first[0].reason, 'val_loss improved from inf to 0.3120, saving checkpoint');
  assert.is(second[0].reason, 'val_loss improved from 0.3120 to 0.2981, saving checkpoint');
  assert.equal(second[0].labels, ['best:val_loss']);
  assert.is(second[0].previous, 0.312);
  assert.is(second[0].value, 0.29812);
  assert.is(third[0].kind, 'skip');
  assert.is(third[0].reason, 'val_loss did not improve from 0.2981');
  assert.is(third[0].causeSeq, sim.log.events.find((e) => e.type === 'EpochEnded' && (e.data as { epoch: number }).epoch === 3)!.seq);
});

test('given save_freq epoch without best-only (Keras default), when epochs end, then every epoch saves', () => {
  const sim = new Sim(createPolicy({ save_freq: 'epoch' }));
  sim.losses([0.5, 0.6, 0.7]);
  assert.equal(saveEpochs(sim), [1, 2, 3]);
  assert.is(sim.decisions[1].reason, 'epoch 2: saving checkpoint (every epoch)');
});

test('given every_n_epochs 3 (Lightning), when 7 epochs end, then saves at 3 and 6 and skips say why', () => {
  const sim = new Sim(createPolicy({ every_n_epochs: 3 }));
  sim.losses([0.9, 0.8, 0.85, 0.84, 0.83, 0.82, 0.81]);
  assert.equal(saveEpochs(sim), [3, 6]);
  assert.is(sim.decisions[0].kind, 'skip');
  assert.is(sim.decisions[0].reason, 'epoch 1: not a save epoch (every 3 epochs)');
});

test('given atEpochs [2, 5], when 6 epochs end, then exactly those epochs save', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: null, atEpochs: [2, 5] }));
  sim.losses([1, 1, 1, 1, 1, 1]);
  assert.equal(saveEpochs(sim), [2, 5]);
});

test('given save_freq 100 batches (Keras int), when sampled batches cross multiples of 100, then each crossing saves once', () => {
  const sim = new Sim(createPolicy({ save_freq: 100 }));
  const steps = [30, 60, 90, 120, 150, 180, 210, 240];
  const saved = steps.filter((s) => sim.feed(sim.log.batch(1, s)).some((d) => d.kind === 'save'));
  assert.equal(saved, [120, 210]);
  const epochEnd = sim.epoch(1, { val_loss: 1 }, { step: 250 });
  assert.is(epochEnd[0].kind, 'skip');
});

test('given atSteps [50, 175], when sampled batches pass them, then the batch crossing each saves', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: null, atSteps: [50, 175] }));
  const saved = [40, 80, 120, 160, 200].filter((s) => sim.feed(sim.log.batch(1, s)).some((d) => d.kind === 'save'));
  assert.equal(saved, [80, 200]);
});

test('given everyNSeconds 600, when event time advances and jumps backwards, then interval restarts from the jump', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: null, everyNSeconds: 600 }));
  const t0 = sim.log.at;
  const at = (mins: number) => t0 + mins * 60_000;
  const save = (epoch: number, mins: number) => sim.epoch(epoch, { val_loss: 1 }, { at: at(mins) }).some((d) => d.kind === 'save');
  assert.equal([save(1, 4), save(2, 9), save(3, 11), save(4, 20)], [false, false, true, false]);
  // The clock jumps back two hours: no save, and the next one is 10 min after the jump.
  assert.equal([save(5, -100), save(6, -95), save(7, -89)], [false, false, true]);
});

test('given everyNSeconds 60, when sampled batches arrive a minute apart in event time, then batches trigger timed saves', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: null, everyNSeconds: 60 }));
  const t0 = sim.log.at;
  const saved = [20, 50, 70, 100, 140].filter((secs, i) => sim.feed(sim.log.batch(1, i + 1, { loss: 1 }, t0 + secs * 1000)).some((d) => d.kind === 'save' && d.rule === 'everyNSeconds'));
  assert.equal(saved, [70, 140]);
});

test('given a custom predicate, when it answers, then it saves with its reason and sees the best so far', () => {
  const seen: Array<number | null> = [];
  const policy = createPolicy({ everyNEpochs: null }, {
    predicate: (ctx) => {
      if (ctx.type !== 'EpochEnded') return false;
      seen.push(ctx.best.val_loss);
      return ctx.epoch % 2 === 0 ? `even epoch ${ctx.epoch}` : false;
    },
  });
  const sim = new Sim(policy);
  sim.losses([0.5, 0.4, 0.6, 0.3]);
  assert.equal(saveEpochs(sim), [2, 4]);
  assert.match(sim.decisions.find((d) => d.kind === 'save')!.reason, 'even epoch 2');
  assert.equal(seen, [0.5, 0.4, 0.4, 0.3]);
});

test('given a predicate that throws, when an epoch ends, then a warn decision records it and training goes on', () => {
  const sim = new Sim(createPolicy({ everyNEpochs: 2 }, { predicate: (ctx) => { if (ctx.epoch === 1) throw new Error('boom'); return false; } }));
  const first = sim.epoch(1, { val_loss: 0.5 });
  assert.equal(first.map((d) => [d.kind, d.rule]), [['warn', 'predicate'], ['skip', 'everyNEpochs']]);
  assert.is(first[0].reason, 'save predicate threw at step 10: boom; not saving for it');
  assert.equal(sim.epoch(2, { val_loss: 0.4 }).map((d) => d.kind), ['save']);
});

test('given two monitors, when each improves on different epochs, then saves carry per-monitor best labels', () => {
  const sim = new Sim(createPolicy({ monitors: ['val_loss', 'val_acc'], save_best_only: true }));
  sim.epoch(1, { val_loss: 0.5, val_acc: 0.8 });
  sim.epoch(2, { val_loss: 0.4, val_acc: 0.7 });
  sim.epoch(3, { val_loss: 0.45, val_acc: 0.9 });
  sim.epoch(4, { val_loss: 0.46, val_acc: 0.85 });
  const saves = sim.decisions.filter((d) => d.kind === 'save');
  assert.equal(saves.map((d) => [d.epoch, d.labels]), [[1, ['best:val_loss', 'best:val_acc']], [2, ['best:val_loss']], [3, ['best:val_acc']]]);
  assert.is(saves[2].reason, 'val_acc improved from 0.8000 to 0.9000, saving checkpoint');
  assert.is(sim.decisions.at(-1)!.reason, 'val_loss did not improve from 0.4000; val_acc did not improve from 0.9000');
});

test('given NaN and Infinity val_loss, when epochs end, then they are recorded as warnings and never become best', () => {
  const sim = new Sim(createPolicy({ save_best_only: true }));
  sim.epoch(1, { val_loss: 0.5 });
  const nan = sim.epoch(2, { val_loss: NaN });
  const inf = sim.epoch(3, { val_loss: -Infinity });
  sim.epoch(4, { val_loss: 0.49 });
  assert.equal(nan.map((d) => [d.kind, d.rule]), [['warn', 'nonFinite'], ['skip', 'saveBestOnly']]);
  assert.is(nan[0].reason, 'val_loss is nan at epoch 2; recorded, never a best');
  assert.is(inf[0].reason, 'val_loss is -inf at epoch 3; recorded, never a best');
  assert.equal(saveEpochs(sim), [1, 4]);
  assert.is(sim.state.progress.monitors[0].nonFinite, 2);
  assert.is(sim.state.progress.monitors[0].best, 0.49);
});

// Keras 3 keras/src/callbacks/model_checkpoint.py _should_save_model: save_best_only with the monitor missing
// warns ("Can save best model only with val_loss available.") and returns True (saves).
test('given a monitor the trainer does not report, when epochs end, then one warning names the metrics present and every epoch saves (Keras 3)', () => {
  const sim = new Sim(createPolicy({ monitor: 'val_loss', save_best_only: true }));
  const first = sim.epoch(1, { loss: 0.5, acc: 0.7 });
  const second = sim.epoch(2, { loss: 0.4, acc: 0.8 });
  assert.is(first[0].kind, 'warn');
  assert.is(first[0].reason, 'val_loss is not among the metrics (loss, acc); set monitor to one of them');
  assert.equal(second.filter((d) => d.kind !== 'prune').map((d) => d.kind), ['save']);
  assert.is(second[0].reason, 'epoch 2: saving checkpoint (val_loss is missing: saving, as Keras 3 does when it cannot judge)');
});

test('given saveLast, when training ends after an unsaved epoch, then a last save is decided; after a saved one, a skip', () => {
  const sim = new Sim(createPolicy({ save_best_only: true, save_last: true }));
  sim.losses([0.5, 0.6]);
  const end = sim.feed(sim.log.ended(2, 20, 'stopped'));
  assert.equal(end[0].labels, ['last']);
  assert.is(end[0].reason, 'training ended (stopped) at epoch 2, saving last checkpoint');
  const sim2 = new Sim(createPolicy({ save_last: true }));
  sim2.losses([0.5, 0.6]);
  const end2 = sim2.feed(sim2.log.ended(2, 20));
  assert.equal(end2.map((d) => [d.kind, d.rule]), [['skip', 'saveLast']]);
  assert.match(end2[0].reason, 'ckpt-2 already holds step 20');
});

test('given the same events, when decided twice by fresh policies, then decisions are identical (pure)', () => {
  const log = new EventLog();
  log.started();
  for (let e = 1; e <= 20; e++) log.epoch(e, { val_loss: 1 / e + (e % 3) * 0.1 }, { at: 1_000_000 + e * HOUR });
  const run = () => {
    const p = createPolicy({ preset: 'long', patience: 3 });
    let s = p.init();
    return log.events.flatMap((ev) => { const r = p.decide(s, ev); s = r.state; return r.decisions; });
  };
  const a = run();
  assert.ok(a.length >= 20);
  assert.equal(run(), a);
});

test('given losses too small for four decimals, when they improve, then the reason shows enough digits to see the change', () => {
  const sim = new Sim(createPolicy({ save_best_only: true }));
  sim.epoch(1, { val_loss: 0.000012 });
  const tiny = sim.epoch(2, { val_loss: 0.000009 });
  assert.is(tiny[0].reason, 'val_loss improved from 0.000012 to 0.000009, saving checkpoint');
  sim.epoch(3, { val_loss: 0.31204 });
  const sim2 = new Sim(createPolicy({ save_best_only: true }));
  sim2.epoch(1, { val_loss: 0.31204 });
  const close = sim2.epoch(2, { val_loss: 0.31201 });
  assert.is(close[0].reason, 'val_loss improved from 0.31204 to 0.31201, saving checkpoint');
  const stall = sim2.epoch(3, { val_loss: 0.4 });
  assert.is(stall[0].reason, 'val_loss did not improve from 0.3120');
  const usual = sim2.epoch(4, { val_loss: 0.29812 });
  assert.is(usual[0].reason, 'val_loss improved from 0.3120 to 0.2981, saving checkpoint');
});

test.run();
