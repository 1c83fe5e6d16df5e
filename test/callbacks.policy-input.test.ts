// How the callbacks on one directory merge into the one policy of their shared run (pure; no tfjs needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePolicyConfig } from '../src/policy/index.js';
import { mergePolicyInputs, type PolicyPart } from '../src/tfjs/callbacks/policy-input.js';

const bestOnly: PolicyPart = { source: 'ModelCheckpoint', monitors: [{ metric: 'val_loss', mode: 'auto' }], saves: true, saveBestOnly: true, everyNEpochs: 1 };
const everyEpochTop3: PolicyPart = { source: 'ModelCheckpoint', monitors: [{ metric: 'val_acc', mode: 'max' }], saves: true, everyNEpochs: 1, keepTopK: 3 };
const stopper: PolicyPart = {
  source: 'EarlyStopping', monitors: [{ metric: 'val_loss', mode: 'auto' }], saves: false,
  earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 3, minDelta: 0.001, baseline: null, startFromEpoch: 2, restoreBestWeights: true },
};
const backup: PolicyPart = { source: 'BackupAndRestore', monitors: [{ metric: 'loss', mode: 'min' }], saves: true, everyNEpochs: 1, keepLast: 1 };

test('given ModelCheckpoint(saveBestOnly) and EarlyStopping, when merged, then one valid policy has both and the Keras values', () => {
  const config = parsePolicyConfig(mergePolicyInputs([bestOnly, stopper]));
  assert.equal(config.monitors.map((m) => [m.metric, m.mode]), [['val_loss', 'min']]);
  assert.is(config.saveBestOnly, true);
  assert.is(config.everyNEpochs, 1);
  assert.equal(config.earlyStopping, { monitor: 'val_loss', mode: 'min', patience: 3, minDelta: 0.001, baseline: null, startFromEpoch: 2, restoreBestWeights: true });
  assert.is(config.keepTopK, null, 'keeps every best, as Keras does with {epoch} in the name');
});

test('given EarlyStopping alone, when merged, then no epoch saves are configured', () => {
  const config = parsePolicyConfig(mergePolicyInputs([stopper]));
  assert.is(config.everyNEpochs, null);
  assert.is(config.saveBestOnly, false);
});

test('given a top-3 ModelCheckpoint and a keep-last-1 backup, when merged, then retention is their union (top 3 + last 1)', () => {
  const config = parsePolicyConfig(mergePolicyInputs([everyEpochTop3, backup]));
  assert.is(config.keepTopK, 3);
  assert.is(config.keepLast, 1);
  assert.equal(config.monitors.map((m) => m.metric), ['val_acc', 'loss']);
});

test('given a callback that keeps everything, when merged with a keep-last-1 one, then nothing is pruned', () => {
  const keepAll: PolicyPart = { ...everyEpochTop3, keepTopK: undefined };
  const config = parsePolicyConfig(mergePolicyInputs([keepAll, backup]));
  assert.is(config.keepTopK, null);
  assert.is(config.keepLast, null);
});

test('given saveBestOnly and an every-epoch backup on one directory, when merged, then CALLBACK_CONFLICT asks for separate dirs', () => {
  assert.throws(() => mergePolicyInputs([bestOnly, backup]), (e: { code: string; message: string }) => e.code === 'CALLBACK_CONFLICT' && /own dir/.test(e.message));
  assert.throws(() => mergePolicyInputs([stopper, { ...stopper }]), (e: { code: string }) => e.code === 'CALLBACK_CONFLICT');
});

test('given ModelCheckpoint(saveBestOnly, saveFreq 2), when merged, then best is judged at every 2nd batch and not at epoch ends (keras-team/keras keras/src/callbacks/model_checkpoint.py on_train_batch_end → _save_model)', () => {
  const config = parsePolicyConfig(mergePolicyInputs([{ ...bestOnly, everyNEpochs: null, everyNSteps: 2 }]));
  assert.equal([config.saveBestOnly, config.everyNSteps, config.everyNEpochs], [true, 2, null]);
});

test('given TerminateOnNaN alone, when merged, then the run watches loss, stops on NaN and saves nothing', () => {
  const config = parsePolicyConfig(mergePolicyInputs([{ source: 'TerminateOnNaN', monitors: [], saves: false, terminateOnNaN: true }]));
  assert.equal(config.monitors.map((m) => [m.metric, m.mode]), [['loss', 'min']]);
  assert.equal([config.terminateOnNaN, config.everyNEpochs, config.everyNSteps, config.everyNSeconds], [true, null, null, null]);
});

test('given ModelCheckpoint with a timed trigger and saveLast link, when merged, then both reach the policy', () => {
  const timed: PolicyPart = { ...everyEpochTop3, everyNEpochs: null, everyNSeconds: 60, saveLast: 'link' };
  const config = parsePolicyConfig(mergePolicyInputs([timed]));
  assert.equal([config.everyNSeconds, config.everyNEpochs, config.saveLast], [60, null, 'link']);
  assert.is(parsePolicyConfig(mergePolicyInputs([timed, { ...everyEpochTop3, saveLast: true }])).saveLast, true, 'a copy at the end wins over labels');
});

test.run();
