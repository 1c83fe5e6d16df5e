// TerminateOnNaN in a real tfjs fit: the loss becomes NaN at a known batch (a NaN target), fit stops after that
// batch, Keras's line is printed, and the ledger records the stop with the value. Keras behaviour from
// keras-team/keras keras/src/callbacks/terminate_on_nan.py (on_batch_end: NaN or inf loss → stop_training,
// "Batch {batch}: Invalid loss, terminating training").
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Decision, RunStarted, TrainingEnded } from '../src/events.js';
import { ModelCheckpoint, TerminateOnNaN } from '../src/tfjs/callbacks/index.js';
import { makeModel, ofType, readEvents, tempDir, useCpu } from './callbacks.fixture.js';

test.before(useCpu);

/** 40 samples, batch 4 (10 batches per epoch); sample 26's target is NaN, so batch 6 (0-based) of an epoch over all of them has a NaN loss. */
function data(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const xs = Array.from({ length: 40 * 3 }, (_, i) => (i % 7) / 7);
  const ys = Array.from({ length: 40 }, (_, i) => (i === 26 ? NaN : i / 40));
  return { x: tf.tensor2d(xs, [40, 3]), y: tf.tensor2d(ys, [40, 1]) };
}

test('given a NaN target in the second epoch, when fit runs with TerminateOnNaN, then it stops after that batch and the ledger says why', async () => {
  const t = tempDir('nan');
  try {
    const lines: string[] = [];
    const stopper = new TerminateOnNaN({ dir: t.dir, log: (l) => lines.push(l) });
    const { x, y } = data();
    // A first fit (run-1) on the clean half, then a fit (run-2) over all samples.
    const model = makeModel(0.01);
    const history = await model.fit(x.slice(0, 20), y.slice(0, 20), { epochs: 1, batchSize: 4, shuffle: false, verbose: 0, callbacks: [new TerminateOnNaN({ dir: t.dir, log: (l) => lines.push(l) })] });
    assert.is(history.epoch.length, 1);
    assert.equal(lines, [], 'no NaN in the clean data');
    const seen: number[] = [];
    const counter = new (class extends tf.Callback { override async onBatchEnd(batch: number) { seen.push(batch); } })();
    await model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0, callbacks: [stopper, counter] });
    assert.equal(seen, [0, 1, 2, 3, 4, 5, 6], 'fit ended after batch 6, the one with the NaN loss');
    assert.equal(lines, ['Batch 6: Invalid loss, terminating training']);
    assert.is(stopper.stopped?.rule, 'terminateOnNaN');

    const events = await readEvents(t.dir);
    const runs = ofType<RunStarted>(events, 'RunStarted');
    assert.is(runs.length, 2);
    assert.equal((runs[1].policy as { monitors: { metric: string }[] }).monitors.map((m) => m.metric), ['loss'], 'alone it watches loss');
    const stop = events.filter((e) => e.type === 'StopDecided').map((e) => e.data as Decision);
    assert.is(stop.length, 1);
    assert.equal([stop[0].run, stop[0].epoch, stop[0].step, stop[0].value], ['run-2', 1, 7, NaN]);
    assert.is(stop[0].reason, 'loss is nan at epoch 1, batch 6; terminating training', 'the batch as Keras counts it (0-based), step 7');
    assert.is(ofType<TrainingEnded>(events, 'TrainingEnded')[1].reason, 'early-stop');
    assert.is(events.filter((e) => e.type === 'BatchEnded' && (e.data as { run: string }).run === 'run-2').length, 7, 'every batch is recorded (any may be the one)');
  } finally {
    t.remove();
  }
});

test('given TerminateOnNaN beside a saveBestOnly ModelCheckpoint, when merged into one run, then loss does not become a monitor', async () => {
  const t = tempDir('nan-mc');
  try {
    const { x, y } = data();
    const model = makeModel(0.01);
    await model.fit(x.slice(0, 20), y.slice(0, 20), {
      epochs: 2, batchSize: 4, shuffle: false, verbose: 0, validationData: [x.slice(20, 4), y.slice(20, 4)],
      callbacks: [new TerminateOnNaN({ dir: t.dir, log: () => {} }), new ModelCheckpoint({ dir: t.dir, monitor: 'val_loss', saveBestOnly: true })],
    });
    const [run] = ofType<RunStarted>(await readEvents(t.dir), 'RunStarted');
    const policy = run.policy as { monitors: { metric: string }[]; terminateOnNaN: boolean; saveBestOnly: boolean };
    assert.equal(policy.monitors.map((m) => m.metric), ['val_loss']);
    assert.equal([policy.terminateOnNaN, policy.saveBestOnly], [true, true]);
  } finally {
    t.remove();
  }
});

test.run();
