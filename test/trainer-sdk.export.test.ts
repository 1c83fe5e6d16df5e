/**
 * The trainer SDK as a package export: a trainer in someone else's project imports `ckpt/trainer` (resolved
 * through node_modules/ckpt, as after `npm install ckpt`), and `ckpt train --trainer ./it.mjs` checkpoints every
 * epoch of it; what it prints reaches the ledger as TrainerLog lines, not the protocol stream.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLedger } from '../ledger/index.js';
import { ckpt, tempDir } from './cli.helpers.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const tmp = tempDir('ckpt-sdk-');
const project = join(tmp.dir, 'my-project');

// A one-weight "model": each batch moves w halfway to 2, so the loss |w - 2| halves per batch.
const TRAINER = `
import { runTrainer } from 'ckpt/trainer';

let w = 0, epoch = 0, step = 0;
const bytes = (x) => new Uint8Array(new Float64Array([x]).buffer);
const read = (state) => new Float64Array(state.objects.model.weights[0].data.slice().buffer)[0];
console.log('printed by the trainer: goes to stderr, never into the frames');
await runTrainer({ name: 'halfway', version: '1.0.0', backend: 'cpu' }, {
  async setup(start) {
    w = start.seed / 1000;
    if (start.state) { w = read(start.state); epoch = start.state.trainer.epoch; step = start.state.trainer.step; }
  },
  async train(ctx) {
    while (epoch < ctx.config.epochs) {
      for (let b = 0; b < 3; b++) { w += (2 - w) / 2; step++; if (await ctx.checkpoint()) return { epoch, step }; }
      epoch++;
      await ctx.epochEnd(epoch, step, { loss: Math.abs(2 - w), val_loss: Math.abs(2 - w) }, 1);
    }
    return { epoch, step };
  },
  async capture() {
    return { objects: { model: { weights: [{ name: 'w', dtype: 'float64', shape: [1], data: bytes(w) }] } }, trainer: { epoch, step }, history: [] };
  },
  async restore(state) { w = read(state); },
});
`;

test.before(() => {
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(REPO, join(project, 'node_modules', 'ckpt'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-project', type: 'module', private: true }));
  writeFileSync(join(project, 'halfway.mjs'), TRAINER);
});
test.after(() => tmp.remove());

test('given a trainer importing ckpt/trainer, when ckpt train runs it, then every epoch is checkpointed and verified', async () => {
  const run = ckpt(['train', '--dir', 'checkpoints', '--trainer', './halfway.mjs', '--epochs', '4', '--seed', '7', '--json'], { cwd: project });
  assert.is(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.is(summary.status, 'finished');
  assert.is(summary.step, 12);
  const rows = JSON.parse(ckpt(['ls', '--json', '--dir', 'checkpoints'], { cwd: project }).stdout) as { epoch: number; metrics: { loss: number } }[];
  assert.ok(rows.length >= 2, `kept ${rows.length} checkpoints`);
  const last = rows.find((r) => r.epoch === 4);
  assert.ok(last, 'the last epoch is kept');
  // w after 12 halvings from 0.007: |2 - w| = 1.993 / 2^12.
  assert.ok(Math.abs(last!.metrics.loss - 1.993 / 4096) < 1e-12, `loss ${last!.metrics.loss}`);
  const verify = ckpt(['verify', '--all', '--dir', 'checkpoints'], { cwd: project });
  assert.is(verify.code, 0, verify.stderr);
  const ledger = await openLedger(join(project, 'checkpoints', 'ledger'));
  const types: string[] = [];
  const lines: string[] = [];
  try {
    for await (const event of ledger.read()) {
      types.push(event.type);
      if (event.type === 'TrainerLog') lines.push((event.data as { line: string }).line);
    }
  } finally {
    await ledger.close();
  }
  assert.ok(lines.includes('printed by the trainer: goes to stderr, never into the frames'), lines.join('\n'));
  assert.not.ok(types.includes('ProtocolFault'));
  assert.is(types.filter((t) => t === 'CheckpointCommitted').length, 4);
});

test.run();
