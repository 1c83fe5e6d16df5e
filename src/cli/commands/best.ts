import type { Command } from 'commander';
import { bestView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes, formatMetric } from '../format.js';
import { readView } from '../source.js';

/** `ckpt best [--monitor m] [--run R]`: the best kept checkpoint by a metric (the ref `[R/]best[:m]`). */
export function registerBest(program: Command): void {
  defineCommand<CommonOptions & { monitor?: string; run?: string }>(
    program,
    {
      name: 'best',
      description: "the best kept checkpoint by a metric",
      examples: ['ckpt best', 'ckpt best --monitor val_acc --json'],
    },
    (cmd) => cmd.option('-m, --monitor <metric>', 'metric to rank by').option('--run <run>', 'only this run'),
    async (_args, opts, out) => {
      const best = await readView(opts.dir, 'best', { monitor: opts.monitor, run: opts.run }, (state) => bestView(state, { monitor: opts.monitor, run: opts.run }));
      {
        if (out.json) return out.document(best);
        const c = best.checkpoint;
        out.line(`${out.c.bold(c.id)}  ${best.monitor}=${formatMetric(best.value)} (${best.mode})  epoch ${c.epoch}  ${c.run}  ${formatBytes(c.bytes.logical)}`);
      }
    },
  );
}
