import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolveMode } from '../../policy/mode.js';
import { runProgram } from '../../projections/catalog.js';
import { resolveRef } from '../../store/refs.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { evaluateWithTrainer, type EvalJob } from '../evaluate.js';
import { formatMetric } from '../format.js';
import { startProgress } from '../progress.js';
import { loadCheckpointFiles } from '../blob-reader.js';
import { withRead } from '../read-helpers.js';

type Split = 'test' | 'validation' | 'train';

/**
 * `ckpt eval <ref...> [--split test] [--rank-by loss]`: evaluate checkpoints on the trainer's held-out split and
 * rank them — "pick the checkpoint that does best on test data".
 */
export function registerEval(program: Command): void {
  defineCommand<CommonOptions & { split: Split; rankBy: string; trainer?: string }>(
    program,
    { name: 'eval <refs...>', description: "evaluate checkpoints on the test split and rank them", examples: ['ckpt eval best latest epoch:2', 'ckpt eval ckpt-3 ckpt-5 --split validation --rank-by acc --json'] },
    (cmd) => cmd
      .option('--split <split>', 'test, validation or train', (v: string) => {
        if (!['test', 'validation', 'train'].includes(v)) throw new InvalidArgumentError('must be test, validation or train');
        return v;
      }, 'test')
      .option('--rank-by <metric>', 'metric to rank by (loss: lower is better; acc: higher)', 'loss')
      .option('--trainer <name|path>', "trainer to evaluate with (default: the checkpoint's own trainer)"),
    async (refs, opts, out) => {
      resolveMode(opts.rankBy, 'auto'); // an unrankable --rank-by fails before any trainer starts
      // Read what to evaluate (and release the directory) before spending time in the trainer.
      const { jobs, meta } = await withRead(opts.dir, async ({ state, dir }) => {
        const ids = [...new Set(refs.map((r) => resolveRef(state, r).id))];
        const byTrainer = new Map<string, EvalJob[]>();
        for (const id of ids) {
          // The program the checkpoint's run was started with (a path trainer is recorded by its absolute path).
          const trainer = opts.trainer ?? runProgram(state.runs[state.checkpoints[id].run]) ?? state.checkpoints[id].trainer;
          byTrainer.set(trainer, [...(byTrainer.get(trainer) ?? []), { id, state: await loadCheckpointFiles(dir, state.checkpoints[id]) }]);
        }
        return { jobs: byTrainer, meta: new Map(ids.map((id) => [id, { run: state.checkpoints[id].run, epoch: state.checkpoints[id].epoch }])) };
      });
      const rows: { checkpoint: string; run: string; epoch: number; trainer: string; metrics: Record<string, number> }[] = [];
      const bar = startProgress(out, 'eval', meta.size);
      try {
        for (const [trainer, list] of jobs) {
          for (const r of await evaluateWithTrainer(trainer, list, opts.split, { onDone: (id) => bar.tick(1, id) })) {
            rows.push({ checkpoint: r.id, ...meta.get(r.id)!, trainer, metrics: r.metrics });
          }
        }
      } finally {
        bar.stop();
      }
      const mode = resolveMode(opts.rankBy, 'auto');
      const value = (m: Record<string, number>) => (typeof m[opts.rankBy] === 'number' ? m[opts.rankBy] : mode === 'min' ? Infinity : -Infinity);
      // Compare rather than subtract: two missing values (both ±Infinity) must tie, not give NaN.
      const order = (x: number, y: number) => (x < y ? -1 : x > y ? 1 : 0);
      rows.sort((a, b) => (mode === 'min' ? order(value(a.metrics), value(b.metrics)) : order(value(b.metrics), value(a.metrics))));
      const ranked = rows.map((r, i) => ({ rank: i + 1, ...r }));
      if (out.json) return out.document({ split: opts.split, rankBy: opts.rankBy, mode, results: ranked });
      const metrics = [...new Set(ranked.flatMap((r) => Object.keys(r.metrics)))].sort();
      out.table(['RANK', 'CHECKPOINT', 'RUN', 'EPOCH', ...metrics.map((m) => `${opts.split} ${m}`)], ranked.map((r) => [String(r.rank), r.checkpoint, r.run, String(r.epoch), ...metrics.map((m) => formatMetric(r.metrics[m]))]), ['right', 'left', 'left', 'right', ...metrics.map(() => 'right' as const)]);
      if (ranked[0]) out.line(`\nbest on ${opts.split} by ${opts.rankBy}: ${out.c.bold(ranked[0].checkpoint)}`);
    },
  );
}
