import type { Command } from 'commander';
import { listCheckpoints } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { marksCell, metricCells, metricColumns, statusCell } from '../read-helpers.js';
import { hasLedger, readView } from '../source.js';

/** `ckpt ls [--all] [--run R]`: checkpoints with epoch, step, metrics, sizes, status, tags and marks. */
export function registerLs(program: Command): void {
  defineCommand<CommonOptions & { all?: boolean; run?: string }>(
    program,
    {
      name: 'ls',
      alias: 'list',
      description: 'list checkpoints with metrics, sizes, status, tags and best/latest marks',
      examples: ['ckpt ls', 'ckpt ls --all --json'],
    },
    (cmd) => cmd.option('-a, --all', 'include pruned checkpoints (their history survives pruning)').option('--run <run>', 'only this run'),
    async (_args, opts, out) => {
      const rows = await readView(opts.dir, 'checkpoints', { all: opts.all ? '1' : undefined, run: opts.run }, (state) => listCheckpoints(state, { all: opts.all, run: opts.run }));
      {
        if (out.json) return out.document(rows);
        if (rows.length === 0 && !hasLedger(opts.dir)) return out.line(`no checkpoints in ${opts.dir} yet (run \`npx ckpt train --dir ${opts.dir}\`)`);
        if (rows.length === 0) return out.line(opts.all ? 'no checkpoints yet' : 'no kept checkpoints (try --all)');
        const columns = metricColumns(rows);
        out.table(
          ['ID', 'RUN', 'EPOCH', 'STEP', ...columns, 'SIZE', 'NEW', 'STATUS', 'TAGS', ''],
          rows.map((r) => [r.id, r.run, String(r.epoch), String(r.step), ...metricCells(r.metrics, columns), formatBytes(r.bytes.logical), formatBytes(r.bytes.new), statusCell(out, r.status), r.tags.join(','), marksCell(out, r)]),
          ['left', 'left', 'right', 'right', ...columns.map(() => 'right' as const), 'right', 'right'],
        );
      }
    },
  );
}
