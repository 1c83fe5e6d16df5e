// ckpt_torch.Run's edges as a user's script meets them, over the real protocol: a loop left early with `break`,
// a loop that raises, and a script started by hand instead of by ckpt train.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { weightsDigest } from '../src/store/digest.js';
import { tempDir } from './fixtures/run-helpers.js';
import { killAllTrainers, startTrainer } from './trainer.client.js';
import { PYTHON, TORCH_SDK } from './torch.helpers.js';

const dir = tempDir('ckpt-torch-api-');
test.after(() => { killAllTrainers(); dir.cleanup(); });

/** A tiny regression loop; `body` is inserted at the end of each epoch (after epoch_end). */
function script(name: string, body: string): string {
  const path = join(dir.dir, name);
  writeFileSync(path, [
    'import torch, ckpt_torch',
    "cfg = ckpt_torch.start(defaults={'epochs': 4})",
    'x = torch.linspace(-1, 1, 64).unsqueeze(1); y = 3 * x + 1',
    'model = torch.nn.Linear(1, 1); optimizer = torch.optim.Adam(model.parameters(), lr=0.05)',
    'run = ckpt_torch.Run(model, optimizer)',
    'for epoch in run.epochs():',
    '    for xb, yb in run.batches(x, y, batch_size=16):',
    '        optimizer.zero_grad(); loss = torch.nn.functional.mse_loss(model(xb), yb); loss.backward(); optimizer.step()',
    '        run.track(len(yb), loss=loss.item() * len(yb))',
    "    run.epoch_end({**run.means(), 'val_loss': run.means()['loss']})",
    ...body.split('\n').map((l) => `    ${l}`),
  ].join('\n'));
  return path;
}

const env = { PYTHONPATH: TORCH_SDK };

test('given a loop left with break after epoch 2 of 4, when the script ends, then done reports epoch 2 and the trainer still answers save until exit', async () => {
  const t = startTrainer(script('early_break.py', 'if epoch == 1:\n    break'), env);
  await t.next('hello');
  t.send({ type: 'start', config: { epochs: 4, batchSize: 16 }, seed: 1 });
  const done = await t.next('done');
  assert.equal([done.epoch, done.step, done.reason], [2, 8, 'done']);
  t.send({ type: 'save', requestId: 'after', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'after');
  assert.is(weightsDigest(state), done.weightsDigest);
  assert.equal(state.history.map((h) => h.epoch), [1, 2]);
  t.send({ type: 'exit' });
  assert.is((await t.exited).code, 0);
});

test('given a loop that raises in epoch 2, when it fails, then the trainer reports TRAINER_FAILED naming the error and exits 1', async () => {
  const t = startTrainer(script('raises.py', "if epoch == 1:\n    raise ValueError('bad batch in epoch 2')"), env);
  await t.next('hello');
  t.send({ type: 'start', config: { epochs: 4, batchSize: 16 }, seed: 1 });
  const error = await t.next('error');
  assert.is(error.code, 'TRAINER_FAILED');
  assert.match(error.message, /ValueError: bad batch in epoch 2/);
  assert.ok(t.messages.some((m) => m.type === 'epoch_end' && m.epoch === 2), 'the epochs before the failure were reported');
  assert.is((await t.exited).code, 1);
  assert.match(t.stderr.join(''), /Traceback/);
});

test('given a Run script started by hand from a terminal, when it starts, then it says to run it under ckpt train and exits 2', () => {
  const path = script('by_hand.py', '');
  // `script` gives the child a terminal on stdin, as a person running `python3 my_loop.py` has.
  const out = spawnSync('script', ['-qec', `${PYTHON} ${path}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  assert.match(out.stdout, /PROTOCOL_NO_SUPERVISOR: .*ckpt train --trainer/);
  assert.is(out.status, 2);
});

test.run();
