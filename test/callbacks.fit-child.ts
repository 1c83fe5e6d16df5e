// Child process of test/callbacks.backup-and-restore.test.ts: one resumable tfjs fit with BackupAndRestore.
// Usage: node --import tsx test/callbacks.fit-child.ts <backupDir> <epochs> <batchDelayMs>
// Prints JSON lines on stdout: {type:'start', initialEpoch}, {type:'epoch', epoch} after each epoch's backup is
// committed, and {type:'done', digest, epochs, valLoss, loss, resumedRun, restored} at the end.
import * as tf from '@tensorflow/tfjs';
import { BackupAndRestore } from '../src/tfjs/callbacks/index.js';
import { makeData, makeModel, modelDigest, useCpu } from './callbacks.fixture.js';

const [dir, epochsText, delayText] = process.argv.slice(2);
const say = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n'); };

await useCpu();
const model = makeModel();
const { x, y } = makeData();
const backup = new BackupAndRestore({ backupDir: dir });
const initialEpoch = await backup.initialEpoch();
say({ type: 'start', initialEpoch });
const delay = Number(delayText ?? 0);
const reporter = new tf.CustomCallback({
  onBatchEnd: () => new Promise((resolve) => setTimeout(resolve, delay)),
  onEpochEnd: (epoch) => say({ type: 'epoch', epoch: epoch + 1 }),
});
const history = await model.fit(x, y, {
  epochs: Number(epochsText), initialEpoch, batchSize: 32, shuffle: false, validationSplit: 0.25, verbose: 0,
  callbacks: [backup, reporter],
});
say({
  type: 'done', digest: await modelDigest(model), epochs: history.epoch, valLoss: history.history.val_loss, loss: history.history.loss,
  resumedRun: backup.resumedRun, restored: backup.restoredEpochs.length,
});
