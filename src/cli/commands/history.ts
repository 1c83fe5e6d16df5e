import type { Command } from 'commander';
import { historyMetricNames, historyView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatDuration } from '../format.js';
import { metricCells } from '../read-helpers.js';
import { readView } from '../source.js';

/** `ckpt history [--run R]`: the per-epoch metrics table with what the policy decided. */
export function registerHistory(program: Command): void {
  defineCommand<CommonOptions & { run?: string }>(
    program,
    { name: 'history', description: 'per-epoch metrics and the decision taken each epoch', examples: ['ckpt history', 'ckpt history --run run-1 --json'] },
    (cmd) => cmd.option('--run <run>', 'only this run'),
    async (_args, opts, out) => {
      const rows = await readView(opts.dir, 'history', { run: opts.run }, (state) => historyView(state, { run: opts.run }));
      {
        if (out.json) return out.document(rows);
        if (rows.length === 0) return out.line('no epochs recorded yet');
        const metrics = historyMetricNames(rows);
        out.table(
          ['RUN', 'EPOCH', 'STEP', ...metrics, 'TIME', 'DECISION', 'CHECKPOINT'],
          rows.map((r) => [r.run, String(r.epoch), String(r.step), ...metricCells(r.metrics, metrics), formatDuration(r.ms), r.decisions.join(',') || '-', r.checkpoint ?? '']),
          ['left', 'right', 'right', ...metrics.map(() => 'right' as const), 'right'],
        );
      }
    },
  );
}
