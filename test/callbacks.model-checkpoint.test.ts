// ModelCheckpoint in a real tfjs fit, writing to a real LevelDB ledger + store: save-best, top-K, saveFreq,
// saveWeightsOnly, initialValueThreshold. Expected values are computed from the fit's own history, Keras's rules.
import * as tf from '@tensorflow/tfjs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CatalogState } from '../src/projections/catalog.js';
import { readOwner } from '../src/server/owner-file.js';
import { ModelCheckpoint } from '../src/tfjs/callbacks/index.js';
import { openWorkspace } from '../src/workspace.js';
import type { CheckpointCommitted, Decision } from '../src/events.js';
import { DigestProbe, makeData, makeModel, ofType, readEvents, tempDir, useCpu } from './callbacks.fixture.js';

/** Reads a tfjs model directory the way tfjs-node's file:// loader does (tfjs-node is not installed here). */
function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const all = Buffer.concat(await Promise.all(json.weightsManifest[0].paths.map((p: string) => readFile(join(dir, p)))));
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

const FIT = { epochs: 12, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0 as const };

/** Epochs (1-based) at which a min-mode monitor strictly improved on the best so far, starting from `start`. */
function improvingEpochs(values: number[], start = Infinity): number[] {
  let best = start;
  const out: number[] = [];
  values.forEach((v, i) => { if (v < best) { best = v; out.push(i + 1); } });
  return out;
}

test.before(useCpu);

test('given saveBestOnly on val_loss, when fit runs 12 epochs, then exactly the improving epochs are committed with Keras names and messages', async () => {
  const t = tempDir('mc-best');
  try {
    const lines: string[] = [];
    const probe = new DigestProbe();
    const checkpoint = new ModelCheckpoint({ dir: t.dir, filepath: 'model_{epoch:02d}_{val_loss:.4f}', monitor: 'val_loss', saveBestOnly: true, verbose: 1, log: (l) => lines.push(l) });
    const { x, y } = makeData();
    const history = await makeModel().fit(x, y, { ...FIT, callbacks: [probe, checkpoint] });
    const valLoss = history.history.val_loss as number[];
    const expected = improvingEpochs(valLoss);
    assert.ok(expected.length >= 3 && expected.length < valLoss.length, `fixture should both improve and not improve: ${expected}`);

    const events = await readEvents(t.dir);
    const committed = ofType<CheckpointCommitted>(events, 'CheckpointCommitted');
    assert.equal(committed.map((c) => c.epoch), expected);
    for (const c of committed) {
      const v = valLoss[c.epoch - 1];
      assert.is(c.description, `model_${String(c.epoch).padStart(2, '0')}_${v.toFixed(4)}`);
      assert.is(c.weightsDigest, probe.byEpoch.get(c.epoch), `epoch ${c.epoch} checkpoint holds that epoch's weights`);
    }
    const skipped = ofType<Decision>(events, 'SaveSkipped');
    assert.equal(skipped.map((d) => d.epoch), valLoss.map((_, i) => i + 1).filter((e) => !expected.includes(e)));

    // One Keras line per epoch: improved (with the previous best, 5 decimals) or did not improve.
    assert.is(lines.length, valLoss.length);
    let best = Infinity;
    valLoss.forEach((v, i) => {
      const epoch = i + 1;
      const prev = best === Infinity ? 'inf' : best.toFixed(5);
      if (expected.includes(epoch)) {
        assert.is(lines[i], `Epoch ${epoch}: val_loss improved from ${prev} to ${v.toFixed(5)}, saving model to model_${String(epoch).padStart(2, '0')}_${v.toFixed(4)}`);
        best = v;
      } else {
        assert.is(lines[i], `Epoch ${epoch}: val_loss did not improve from ${best.toFixed(5)}`);
      }
    });

    const ws = await openWorkspace(t.dir);
    try {
      const loaded = await ws.store.load('best:val_loss');
      assert.is(loaded.state.trainer.epoch, expected[expected.length - 1]);
      assert.is(loaded.manifest.weightsDigest, probe.byEpoch.get(expected[expected.length - 1]));
    } finally {
      await ws.close();
    }
  } finally {
    t.remove();
  }
});

test('given keepTopK 3 and a save every epoch, when fit ends, then the 3 best epochs by val_loss stay and the rest are pruned with reasons', async () => {
  const t = tempDir('mc-topk');
  try {
    const checkpoint = new ModelCheckpoint({ dir: t.dir, filepath: 'e{epoch}', keepTopK: 3 });
    const { x, y } = makeData();
    const history = await makeModel().fit(x, y, { ...FIT, callbacks: [checkpoint] });
    const valLoss = history.history.val_loss as number[];
    const top3 = valLoss.map((v, i) => ({ v, epoch: i + 1 })).sort((a, b) => a.v - b.v).slice(0, 3).map((e) => e.epoch).sort((a, b) => a - b);

    const events = await readEvents(t.dir);
    assert.is(ofType(events, 'CheckpointCommitted').length, valLoss.length, 'every epoch saved');
    const intents = ofType<Decision>(events, 'PruneIntended');
    const pruned = ofType<{ checkpoint: string; intentSeq: number }>(events, 'CheckpointPruned');
    assert.is(intents.length, valLoss.length - 3);
    assert.equal(pruned.map((p) => p.checkpoint).sort(), intents.map((d) => d.checkpoint!).sort());
    for (const d of intents) assert.match(d.reason, /top 3/);

    const ws = await openWorkspace(t.dir);
    try {
      const catalog = ws.store.catalog() as CatalogState;
      const kept = Object.values(catalog.checkpoints).filter((c) => c.status === 'kept').map((c) => c.epoch).sort((a, b) => a - b);
      assert.equal(kept, top3);
      const gone = pruned[0].checkpoint;
      await ws.store.load(gone).then(() => assert.unreachable('a pruned checkpoint must not load'), (e: { code: string }) => assert.match(e.code, /^STORE_/));
    } finally {
      await ws.close();
    }
  } finally {
    t.remove();
  }
});

test('given saveFreq 4 batches, when 3 epochs of 5 batches run, then checkpoints land at steps 4, 8, 12 named by epoch and batch', async () => {
  const t = tempDir('mc-freq');
  try {
    const checkpoint = new ModelCheckpoint({ dir: t.dir, filepath: 'm{epoch:02d}-b{batch}', saveFreq: 4, monitor: 'loss' });
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, epochs: 3, callbacks: [checkpoint] });
    const events = await readEvents(t.dir);
    const committed = ofType<CheckpointCommitted>(events, 'CheckpointCommitted');
    // 150 training samples / batch 32 = 5 batches per epoch: step 4 = epoch 1 batch 4, 8 = epoch 2 batch 3, 12 = epoch 3 batch 2.
    assert.equal(committed.map((c) => c.step), [4, 8, 12]);
    assert.equal(committed.map((c) => c.description), ['m01-b4', 'm02-b3', 'm03-b2']);
    assert.equal(committed.map((c) => c.epoch), [1, 2, 3], 'the epoch in progress, as BatchEnded and the decision say');
    assert.equal(ofType<{ step: number }>(events, 'BatchEnded').map((b) => b.step), [4, 8, 12]);
    const ws = await openWorkspace(t.dir);
    try {
      const { state } = await ws.store.load(committed[1].checkpoint);
      assert.equal([state.trainer.epoch, state.trainer.step], [1, 8], 'trainer state counts completed epochs');
    } finally {
      await ws.close();
    }
  } finally {
    t.remove();
  }
});

test('given saveBestOnly with saveFreq 2 on loss, when 2 epochs of 5 batches run, then only the 2nd-batch checks whose batch loss beat the best are saved, none at epoch ends (keras-team/keras keras/src/callbacks/model_checkpoint.py on_train_batch_end → _save_model)', async () => {
  const t = tempDir('mc-best-freq');
  try {
    const losses = new Map<number, number>();
    let epochIndex = 0;
    const probe = new (class extends tf.Callback {
      override async onEpochBegin(epoch: number) { epochIndex = epoch; }
      override async onBatchEnd(batch: number, logs?: tf.Logs) { losses.set(epochIndex * 5 + batch + 1, (logs!.loss as unknown as tf.Scalar).dataSync()[0]); }
    })();
    const checkpoint = new ModelCheckpoint({ dir: t.dir, monitor: 'loss', saveBestOnly: true, saveFreq: 2 });
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, epochs: 2, callbacks: [probe, checkpoint] });
    // Keras: at every 2nd step, save when that batch's loss is below the best seen at earlier checks.
    let best = Infinity;
    const expected: number[] = [];
    for (const step of [2, 4, 6, 8, 10]) if (losses.get(step)! < best) { best = losses.get(step)!; expected.push(step); }
    assert.ok(expected.length >= 2 && expected.length < 5, `the fixture must both improve and not: ${expected}`);
    const committed = ofType<CheckpointCommitted>(await readEvents(t.dir), 'CheckpointCommitted');
    assert.equal(committed.map((c) => c.step), expected);
  } finally {
    t.remove();
  }
});

test('given everyNEpochs 2 (Keras 2 period), when 5 epochs run, then epochs 2 and 4 are saved; with a numeric saveFreq it is rejected as in Lightning', async () => {
  const t = tempDir('mc-every');
  try {
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, epochs: 5, callbacks: [new ModelCheckpoint({ dir: t.dir, everyNEpochs: 2 })] });
    assert.equal(ofType<CheckpointCommitted>(await readEvents(t.dir), 'CheckpointCommitted').map((c) => c.epoch), [2, 4]);
    assert.throws(() => new ModelCheckpoint({ dir: t.dir, everyNEpochs: 2, saveFreq: 3 }), /mutually exclusive/);
    assert.throws(() => new ModelCheckpoint({ dir: t.dir, everyNEpochs: 1, trainTimeInterval: 60 }), /mutually exclusive/);
  } finally {
    t.remove();
  }
});

test('given saveWeightsOnly, when a checkpoint is loaded, then it has weights but no optimizer state (and the default keeps Adam state)', async () => {
  const weightsOnly = tempDir('mc-wo');
  const full = tempDir('mc-full');
  try {
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, epochs: 2, callbacks: [new ModelCheckpoint({ dir: weightsOnly.dir, saveWeightsOnly: true })] });
    await makeModel().fit(x, y, { ...FIT, epochs: 2, callbacks: [new ModelCheckpoint({ dir: full.dir })] });
    for (const [dir, expectOptimizer] of [[weightsOnly.dir, false], [full.dir, true]] as const) {
      const ws = await openWorkspace(dir);
      try {
        const { state } = await ws.store.load('latest');
        assert.is(state.objects.model.weights.length, 4);
        assert.is(state.objects.model.optimizer !== undefined, expectOptimizer);
        if (expectOptimizer) {
          assert.is(state.objects.model.optimizer!.className, 'Adam');
          assert.is(state.objects.model.optimizer!.slots.length, 9, 'the iteration count, then two moments per weight tensor');
          assert.ok(typeof state.objects.model.optimizer!.hidden.accBeta1 === 'number');
        }
      } finally {
        await ws.close();
      }
    }
  } finally {
    weightsOnly.remove();
    full.remove();
  }
});

test('given initialValueThreshold 0.1, when val_loss starts above it, then only epochs beating 0.1 and the best so far are saved', async () => {
  const t = tempDir('mc-ivt');
  try {
    const lines: string[] = [];
    const checkpoint = new ModelCheckpoint({ dir: t.dir, saveBestOnly: true, initialValueThreshold: 0.1, verbose: 1, log: (l) => lines.push(l) });
    const { x, y } = makeData();
    const history = await makeModel().fit(x, y, { ...FIT, epochs: 6, callbacks: [checkpoint] });
    const valLoss = history.history.val_loss as number[];
    const expected = improvingEpochs(valLoss, 0.1);
    assert.ok(valLoss[0] > 0.1 && expected.length > 0, `fixture: starts above 0.1 and gets below: ${valLoss}`);
    const committed = ofType<CheckpointCommitted>(await readEvents(t.dir), 'CheckpointCommitted');
    assert.equal(committed.map((c) => c.epoch), expected);
    assert.match(lines[expected[0] - 1], `improved from 0.10000 to ${valLoss[expected[0] - 1].toFixed(5)}`);
  } finally {
    t.remove();
  }
});

test('given exportFormat tfjs, when a best epoch is saved, then a tfjs model directory appears at the rendered path and loads with identical predictions', async () => {
  const t = tempDir('mc-export');
  try {
    const checkpoint = new ModelCheckpoint({ dir: join(t.dir, 'ckpt'), filepath: join(t.dir, 'export', 'model_{epoch:02d}'), saveBestOnly: true, exportFormat: 'tfjs' });
    const model = makeModel();
    const { x, y } = makeData();
    const history = await model.fit(x, y, { ...FIT, epochs: 3, callbacks: [checkpoint] });
    assert.equal(improvingEpochs(history.history.val_loss as number[]), [1, 2, 3], 'fixture improves every epoch');
    assert.equal((await readdir(join(t.dir, 'export'))).sort(), ['model_01', 'model_02', 'model_03']);
    const loaded = await tf.loadLayersModel(fileHandler(join(t.dir, 'export', 'model_03')));
    const probe = tf.tensor2d([[0.1, 0.2, 0.3], [0.9, 0.5, 0.1]]);
    assert.equal(Array.from((loaded.predict(probe) as tf.Tensor).dataSync()), Array.from((model.predict(probe) as tf.Tensor).dataSync()));
    const events = await readEvents(join(t.dir, 'ckpt'));
    assert.equal(ofType<{ path: string }>(events, 'CheckpointExported').map((e) => e.path.split('/').pop()), ['model_01', 'model_02', 'model_03']);
  } finally {
    t.remove();
  }
});

test('given fitDataset (no sample count in params), when 2 epochs of 4 batches run, then steps are counted from the batches seen', async () => {
  const t = tempDir('mc-dataset');
  try {
    const { x, y } = makeData();
    const dataset = tf.data.zip({ xs: tf.data.array(x.arraySync()), ys: tf.data.array(y.arraySync()) }).batch(50) as unknown as tf.data.Dataset<tf.TensorContainer>;
    await makeModel().fitDataset(dataset, { epochs: 2, verbose: 0, callbacks: [new ModelCheckpoint({ dir: t.dir, monitor: 'loss', filepath: 'ds{epoch}' })] });
    const committed = ofType<CheckpointCommitted>(await readEvents(t.dir), 'CheckpointCommitted');
    assert.equal(committed.map((c) => [c.epoch, c.step, c.description]), [[1, 4, 'ds1'], [2, 8, 'ds2']]);
  } finally {
    t.remove();
  }
});

// Keras 3 keras/src/callbacks/model_checkpoint.py _should_save_model: warns and saves when the monitor is missing.
test('given saveBestOnly on val_loss without validation data, when fit runs, then every epoch is saved and Keras 3\'s warning is printed each epoch', async () => {
  const t = tempDir('mc-missing');
  try {
    const lines: string[] = [];
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, validationSplit: 0, epochs: 2, callbacks: [new ModelCheckpoint({ dir: t.dir, saveBestOnly: true, verbose: 1, log: (l) => lines.push(l) })] });
    assert.equal(lines, ['Can save best model only with val_loss available.', 'Can save best model only with val_loss available.']);
    const events = await readEvents(t.dir);
    assert.is(ofType(events, 'CheckpointCommitted').length, 2);
    assert.match(ofType<Decision>(events, 'PolicyWarning')[0].reason, 'val_loss is not among the metrics (loss)');
  } finally {
    t.remove();
  }
});

test('given a fit in progress, when another process looks at the directory, then this process is advertised as its owner, and not after fit', async () => {
  const t = tempDir('mc-owner');
  try {
    const seen: Array<{ pid: number; url: string } | null> = [];
    const look = new tf.CustomCallback({ onEpochEnd: async () => { seen.push(await readOwner(t.dir)); } });
    const { x, y } = makeData();
    await makeModel().fit(x, y, { ...FIT, epochs: 1, callbacks: [new ModelCheckpoint({ dir: t.dir }), look] });
    assert.is(seen[0]?.pid, process.pid);
    assert.match(seen[0]!.url, /^http:\/\/127\.0\.0\.1:\d+/);
    assert.is(await readOwner(t.dir), null, 'owner.json withdrawn when the fit ends');
  } finally {
    t.remove();
  }
});

test('given a template field the logs lack, when the first save happens, then fit rejects with CALLBACK_FILEPATH and the directory is released', async () => {
  const t = tempDir('mc-badname');
  try {
    const { x, y } = makeData();
    const model = makeModel();
    const err = await model.fit(x, y, { ...FIT, epochs: 2, callbacks: [new ModelCheckpoint({ dir: t.dir, filepath: 'm_{val_acc:.2f}' })] }).then(() => null, (e) => e);
    assert.is(err?.code, 'CALLBACK_FILEPATH');
    // The workspace was closed on the failure path: the directory opens again in this process.
    const events = await readEvents(t.dir);
    assert.is(ofType(events, 'RunStarted').length, 1);
  } finally {
    t.remove();
  }
});

test('given a fit that fails in another callback (tfjs then skips onTrainEnd), when fit has returned, then the directory is released within a moment', async () => {
  const t = tempDir('mc-release');
  try {
    const { x, y } = makeData();
    const crash = new tf.CustomCallback({ onEpochEnd: (epoch) => { if (epoch === 1) throw new Error('boom'); } });
    const err = await makeModel().fit(x, y, { ...FIT, callbacks: [new ModelCheckpoint({ dir: t.dir }), crash] }).then(() => null, (e) => e);
    assert.is(err?.message, 'boom');
    await new Promise((r) => setTimeout(r, 500));
    const events = await readEvents(t.dir);
    assert.equal(ofType<CheckpointCommitted>(events, 'CheckpointCommitted').map((c) => c.epoch), [1, 2]);
    assert.is(ofType(events, 'RunFinished').length, 0, 'the run stays interrupted: the next fit records RunCrashed');
  } finally {
    t.remove();
  }
});

test.run();
