// Keras filepath templates and verbose messages, checked against what Python/Keras prints for the same input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderFilepath, formatValue } from '../src/tfjs/callbacks/filepath.js';
import { improvedMessage, notImprovedMessage, savingMessage, earlyStoppingMessage, restoringMessage } from '../src/tfjs/callbacks/keras-messages.js';
import { CkptError } from '../src/errors.js';

test('given the Keras README template, when rendered for epoch 3, then epoch is zero-padded and val_loss has 4 decimals', () => {
  assert.is(renderFilepath('model_{epoch:02d}_{val_loss:.4f}', { epoch: 3, val_loss: 0.29811 }), 'model_03_0.2981');
});

test('given Python format specs, when formatting, then output matches Python str.format', () => {
  // Expected values are what Python 3 prints for format(value, spec).
  const cases: Array<[number, string, string]> = [
    [7, '02d', '07'], [123, '02d', '123'], [-3, '03d', '-03'], [0.5, '.4f', '0.5000'], [2.5, '6.2f', '  2.50'],
    [0.000123, '.2e', '1.23e-04'], [0.1234, '.1%', '12.3%'], [Infinity, '.5f', 'inf'], [NaN, '.4f', 'nan'], [3, '', '3'],
  ];
  for (const [value, spec, expected] of cases) assert.is(formatValue(value, spec), expected, `format(${value}, '${spec}')`);
});

test('given literal braces and a plain field, when rendered, then braces are unescaped', () => {
  assert.is(renderFilepath('{{run}}-{epoch}', { epoch: 12 }), '{run}-12');
});

test('given a field the logs lack, when rendered, then CALLBACK_FILEPATH names the available fields', () => {
  try {
    renderFilepath('m_{val_acc:.2f}', { epoch: 1, loss: 0.3 });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CkptError);
    assert.is((e as CkptError).code, 'CALLBACK_FILEPATH');
    assert.match((e as Error).message, 'epoch, loss');
  }
});

test('given an unsupported spec, when rendered, then CALLBACK_FILEPATH says which forms work', () => {
  assert.throws(() => renderFilepath('m_{loss:>>x}', { loss: 1 }), (e: CkptError) => e.code === 'CALLBACK_FILEPATH' && /:02d/.test(e.message));
});

test('given Keras verbose events, when formatted, then the lines match keras.callbacks word for word', () => {
  assert.is(improvedMessage(3, 'val_loss', 0.312, 0.2981, 'model_03_0.2981'),
    'Epoch 3: val_loss improved from 0.31200 to 0.29810, saving model to model_03_0.2981');
  assert.is(improvedMessage(1, 'val_loss', null, 0.5, 'm'), 'Epoch 1: val_loss improved from inf to 0.50000, saving model to m');
  assert.is(improvedMessage(1, 'val_acc', -Infinity, 0.5, 'm'), 'Epoch 1: val_acc improved from -inf to 0.50000, saving model to m');
  assert.is(notImprovedMessage(4, 'val_loss', 0.2981), 'Epoch 4: val_loss did not improve from 0.29810');
  assert.is(savingMessage(2, 'model_02'), 'Epoch 2: saving model to model_02');
  assert.is(earlyStoppingMessage(7), 'Epoch 7: early stopping');
  assert.is(restoringMessage(4), 'Restoring model weights from the end of the best epoch: 4.');
});

test.run();
