// EarlyStopping in a real tfjs fit: when it stops, what it restores (weights equal the best epoch's, bit for bit),
// and what the ledger records. The expected stop/best epochs follow keras.callbacks.EarlyStopping's code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DECISION_TYPES, type CheckpointCommitted, type Decision, type RunFinished, type RunStarted } from '../src/events.js';
import { replay } from '../src/policy/index.js';
import { EarlyStopping, ModelCheckpoint } from '../src/tfjs/callbacks/index.js';
import { DigestProbe, makeData, makeModel, modelDigest, ofType, readEvents, tempDir, useCpu } from './callbacks.fixture.js';

const FIT = { epochs: 12, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0 as const };

/** keras EarlyStopping.on_epoch_end (mode min, min_delta 0): 1-based stop epoch (0 = none) and best epoch. */
function kerasEarlyStop(values: number[], patience: number, baseline: number | null = null, startFromEpoch = 0): { stop: number; best: number } {
  let best = Infinity;
  let bestEpoch = 0;
  let wait = 0;
  for (let i = 0; i < values.length; i++) {
    if (i < startFromEpoch) continue;
    wait += 1;
    if (values[i] < best) {
      best = values[i];
      bestEpoch = i + 1;
      if (baseline === null || values[i] < baseline) wait = 0;
      continue;
    }
    if (wait >= patience && i > 0) return { stop: i + 1, best: bestEpoch };
  }
  return { stop: 0, best: bestEpoch };
}

test.before(useCpu);

test('given patience 2 and restoreBestWeights, when val_loss stalls, then fit stops Keras-exactly and the weights equal the best epoch\'s', async () => {
  const t = tempDir('es-restore');
  try {
    const lines: string[] = [];
    const probe = new DigestProbe();
    const stop = new EarlyStopping({ dir: t.dir, monitor: 'val_loss', patience: 2, restoreBestWeights: true, verbose: 1, log: (l) => lines.push(l) });
    const model = makeModel();
    const { x, y } = makeData();
    const history = await model.fit(x, y, { ...FIT, callbacks: [probe, stop] });
    // Run the uninterrupted 12 epochs on a twin model to know what Keras would have decided.
    const twin = await makeModel().fit(x, y, { ...FIT });
    const expected = kerasEarlyStop(twin.history.val_loss as number[], 2);
    assert.ok(expected.stop > 0 && expected.best < expected.stop, `fixture must stop early: ${JSON.stringify(expected)}`);

    assert.is(history.epoch.length, expected.stop, 'fit ran up to the stop epoch');
    assert.is(stop.stoppedEpoch, expected.stop);
    assert.is(stop.restoredEpoch, expected.best);
    const final = await modelDigest(model);
    assert.is(final, probe.byEpoch.get(expected.best), 'weights after fit are the best epoch\'s');
    assert.is.not(final, probe.byEpoch.get(expected.stop), 'and not the last epoch\'s');
    assert.equal(lines, [`Epoch ${expected.stop}: early stopping`, `Restoring model weights from the end of the best epoch: ${expected.best}.`]);

    const events = await readEvents(t.dir);
    const [stopDecision] = ofType<Decision>(events, 'StopDecided');
    const [restoreDecision] = ofType<Decision>(events, 'RestoreDecided');
    assert.is(stopDecision.epoch, expected.stop);
    assert.match(stopDecision.reason, `did not improve for 2 epochs`);
    const restored = ofType<CheckpointCommitted>(events, 'CheckpointCommitted').find((c) => c.checkpoint === restoreDecision.checkpoint);
    assert.is(restored?.epoch, expected.best);
    assert.is(restored?.weightsDigest, final);
    assert.is(ofType<RunFinished>(events, 'RunFinished')[0].weightsDigest, final);
    assert.equal(ofType<{ reason: string }>(events, 'TrainingEnded').map((e) => e.reason), ['early-stop']);
  } finally {
    t.remove();
  }
});

test('given restoreBestWeights off, when fit stops early, then the last epoch\'s weights stay and nothing is saved', async () => {
  const t = tempDir('es-plain');
  try {
    const probe = new DigestProbe();
    const stop = new EarlyStopping({ dir: t.dir, patience: 1 });
    const model = makeModel();
    const { x, y } = makeData();
    const history = await model.fit(x, y, { ...FIT, callbacks: [probe, stop] });
    const expected = kerasEarlyStop(history.history.val_loss as number[], 1);
    assert.is(stop.stoppedEpoch, expected.stop);
    assert.is(history.epoch.length, expected.stop);
    assert.is(stop.restoredEpoch, 0);
    assert.is(await modelDigest(model), probe.byEpoch.get(expected.stop));
    const events = await readEvents(t.dir);
    assert.is(ofType(events, 'CheckpointCommitted').length, 0);
    assert.is(ofType(events, 'RestoreDecided').length, 0);
    assert.is(ofType(events, 'StopDecided').length, 1);
  } finally {
    t.remove();
  }
});

test('given an unreachable baseline, when val_loss keeps improving above it, then fit stops at the first non-improving epoch past patience (Keras rule)', async () => {
  const t = tempDir('es-baseline');
  try {
    const stop = new EarlyStopping({ dir: t.dir, patience: 2, baseline: 0.001 });
    const { x, y } = makeData();
    const history = await makeModel().fit(x, y, { ...FIT, callbacks: [stop] });
    const twin = await makeModel().fit(x, y, { ...FIT });
    const expected = kerasEarlyStop(twin.history.val_loss as number[], 2, 0.001);
    assert.ok(expected.stop > 0, 'fixture: baseline is never beaten, so it stops');
    assert.is(stop.stoppedEpoch, expected.stop);
    assert.is(history.epoch.length, expected.stop);
  } finally {
    t.remove();
  }
});

test('given startFromEpoch 6, when val_loss stalls early, then the warm-up epochs are ignored as in Keras', async () => {
  const t = tempDir('es-start');
  try {
    const stop = new EarlyStopping({ dir: t.dir, patience: 1, startFromEpoch: 6 });
    const { x, y } = makeData();
    const history = await makeModel().fit(x, y, { ...FIT, callbacks: [stop] });
    const twin = (await makeModel().fit(x, y, { ...FIT })).history.val_loss as number[];
    const early = kerasEarlyStop(twin, 1);
    const expected = kerasEarlyStop(twin, 1, null, 6);
    assert.ok(early.stop > 0 && early.stop <= 6 && expected.stop > 6, `fixture: without warm-up it stops at ${early.stop}, with it at ${expected.stop}`);
    assert.is(stop.stoppedEpoch, expected.stop);
    assert.is(history.epoch.length, expected.stop);
  } finally {
    t.remove();
  }
});

test('given ModelCheckpoint and EarlyStopping on one directory, when fit runs, then they share one run and restore uses the saved best', async () => {
  const t = tempDir('es-mc');
  try {
    const probe = new DigestProbe();
    const checkpoint = new ModelCheckpoint({ dir: t.dir, saveBestOnly: true });
    const stop = new EarlyStopping({ dir: t.dir, patience: 2, restoreBestWeights: true });
    const model = makeModel();
    const { x, y } = makeData();
    await model.fit(x, y, { ...FIT, callbacks: [probe, checkpoint, stop] });
    const events = await readEvents(t.dir);
    assert.equal([...new Set(events.map((e) => e.stream))], ['run-1'], 'one run for both callbacks');
    assert.is(ofType(events, 'RunStarted').length, 1);
    assert.is(ofType(events, 'EpochEnded').length, stop.stoppedEpoch, 'each epoch recorded once');
    const saves = ofType<CheckpointCommitted>(events, 'CheckpointCommitted');
    assert.is(saves.length, new Set(saves.map((s) => s.epoch)).size, 'no epoch saved twice');
    const [restore] = ofType<Decision>(events, 'RestoreDecided');
    assert.is(restore.checkpoint, saves[saves.length - 1].checkpoint, 'restores the newest best ModelCheckpoint saved');
    assert.is(await modelDigest(model), probe.byEpoch.get(stop.restoredEpoch));
  } finally {
    t.remove();
  }
});

test('given a recorded callback run, when the policy replays its events, then it makes the same decisions with the same reasons and keeps the same checkpoints', async () => {
  const t = tempDir('es-replay');
  try {
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, callbacks: [new ModelCheckpoint({ dir: t.dir, keepTopK: 3 }), new EarlyStopping({ dir: t.dir, patience: 2, restoreBestWeights: true })] });
    const events = await readEvents(t.dir);
    const recorded = events.filter((e) => DECISION_TYPES.includes(e.type)).map((e) => e.data as Decision);
    const replayed = replay(events, (events.find((e) => e.type === 'RunStarted')!.data as RunStarted).policy);
    // Writes run in the background, so prunes may land an epoch later than in replay: compare per kind.
    const view = (ds: Decision[], kind: string) => ds.filter((d) => d.kind === kind).map((d) => `${d.epoch} ${d.checkpoint ?? ''} ${d.reason}`).sort();
    for (const kind of ['save', 'skip', 'prune', 'stop', 'restore']) assert.equal(view(recorded, kind), view(replayed.decisions, kind), kind);
    assert.ok(view(recorded, 'prune').length > 0 && view(recorded, 'restore').length === 1);
    assert.equal([...replayed.kept].sort(), [...replayed.actuallyKept].sort());
  } finally {
    t.remove();
  }
});

test.run();
