import type { Command } from 'commander';
import { metricsLine, latestView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { readView } from '../source.js';

/** `ckpt latest [--run R]`: the newest kept checkpoint. */
export function registerLatest(program: Command): void {
  defineCommand<CommonOptions & { run?: string }>(
    program,
    { name: 'latest', description: 'the newest kept checkpoint', examples: ['ckpt latest', 'ckpt latest --run run-2 --json'] },
    (cmd) => cmd.option('--run <run>', 'only this run'),
    async (_args, opts, out) => {
      const latest = await readView(opts.dir, 'latest', { run: opts.run }, (state) => latestView(state, { run: opts.run }));
      {
        if (out.json) return out.document(latest);
        out.line(`${out.c.bold(latest.id)}  epoch ${latest.epoch}  step ${latest.step}  ${latest.run}  ${metricsLine(latest.metrics)}  ${formatBytes(latest.bytes.logical)}`);
      }
    },
  );
}
