import type { Command } from 'commander';
import { diffView, tensorDiff, type DiffView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatDelta, formatMetric } from '../format.js';
import { loadCheckpointState } from '../blob-reader.js';
import { withRead } from '../read-helpers.js';

/**
 * `ckpt diff <a> <b>`: metrics side by side and per-tensor L2 distance / max absolute difference. Works while
 * another process owns the directory (blobs are read and verified directly).
 */
export function registerDiff(program: Command): void {
  defineCommand<CommonOptions & { metricsOnly?: boolean }>(
    program,
    { name: 'diff <a> <b>', description: 'compare two checkpoints: metrics and per-tensor L2 / max |diff|', examples: ['ckpt diff epoch:1 best', 'ckpt diff ckpt-2 ckpt-5 --json'] },
    (cmd) => cmd.option('--metrics-only', 'skip loading the weights'),
    async ([a, b], opts, out) => {
      const view: DiffView = await withRead(opts.dir, async (source) => {
        const found = diffView(source.state, a, b);
        if (!opts.metricsOnly) {
          const [sa, sb] = [await loadCheckpointState(source.dir, source.state.checkpoints[found.a.id]), await loadCheckpointState(source.dir, source.state.checkpoints[found.b.id])];
          found.tensors = tensorDiff(sa, sb);
        }
        return found;
      });
      if (out.json) return out.document(view);
      out.line(`${out.c.bold(view.a.id)} (${view.a.run}, epoch ${view.a.epoch})  vs  ${out.c.bold(view.b.id)} (${view.b.run}, epoch ${view.b.epoch})${view.sameWeights ? out.c.green('  identical weights') : ''}`);
      out.line();
      out.table(['METRIC', view.a.id, view.b.id, 'DELTA'], view.metrics.map((m) => [m.metric, formatMetric(m.a), formatMetric(m.b), formatDelta(m.delta)]), ['left', 'right', 'right', 'right']);
      if (view.tensors) {
        out.line();
        out.table(
          ['TENSOR', 'DTYPE', 'SHAPE', 'L2', 'MAX |Δ|'],
          view.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(',')}]`, t.l2 === null ? t.note ?? '-' : significant(t.l2), t.maxAbs === null ? '-' : significant(t.maxAbs)]),
          ['left', 'left', 'left', 'right', 'right'],
        );
      }
    },
  );
}

/** Four significant digits without exponent noise: 2.837, 0.09151, 0. */
function significant(value: number): string {
  return Number(value.toPrecision(4)).toString();
}
