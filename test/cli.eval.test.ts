/**
 * `ckpt eval` with the trainer a run recorded (issue 14 item 6): a run trained with a path trainer is evaluated
 * without passing --trainer again, from another working directory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ckpt, tempDir } from './cli.helpers.js';

const TRAINER = new URL('./fixtures/eval-trainer.ts', import.meta.url).pathname;

test('given a run trained with a path trainer, when `ckpt eval best latest` runs elsewhere without --trainer, then the recorded trainer evaluates both', () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, 'ws');
    const train = ckpt(['train', '--trainer', TRAINER, '--epochs', '3', '--seed', '2', '--policy', 'normal', '--dir', dir]);
    assert.is(train.code, 0, train.stderr);
    const ls = JSON.parse(ckpt(['ls', '--dir', dir, '--json']).stdout) as { id: string; metrics: { val_loss: number } }[];
    assert.ok(ls.length >= 2, `kept: ${ls.map((r) => r.id)}`);

    const res = ckpt(['eval', 'best', 'latest', '--dir', dir, '--json'], { cwd: tmp.dir });
    assert.is(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout) as { results: { checkpoint: string; trainer: string; metrics: { loss: number } }[] };
    assert.ok(doc.results.length >= 1);
    for (const r of doc.results) {
      assert.is(r.trainer, TRAINER, 'the absolute path RunStarted recorded');
      const kept = ls.find((row) => row.id === r.checkpoint)!;
      assert.is(r.metrics.loss, kept.metrics.val_loss, `${r.checkpoint}: the trainer evaluated that checkpoint's own weight`);
    }
  } finally {
    tmp.remove();
  }
});

test.run();
