import type { Command } from 'commander';
import { diffView, tensorDiff, type DiffView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatDelta, formatMetric } from '../format.js';
import { openForRead } from '../source.js';
import { withWorkspace } from '../workspace.js';

/**
 * `ckpt diff <a> <b>`: metrics side by side and per-tensor L2 distance / max absolute difference. Through a live
 * owner only the metrics are available (the tensors need the directory), and the output says so.
 */
export function registerDiff(program: Command): void {
  defineCommand<CommonOptions & { metricsOnly?: boolean }>(
    program,
    { name: 'diff <a> <b>', description: 'compare two checkpoints: metrics and per-tensor L2 / max |diff|', examples: ['ckpt diff epoch:1 best', 'ckpt diff ckpt-2 ckpt-5 --json'] },
    (cmd) => cmd.option('--metrics-only', 'skip loading the weights'),
    async ([a, b], opts, out) => {
      const source = await openForRead(opts.dir);
      let view: DiffView;
      let tensorsNote: string | undefined;
      try {
        view = diffView(source.state, a, b);
      } finally {
        await source.close();
      }
      if (!opts.metricsOnly) {
        if (source.via.kind === 'owner') {
          tensorsNote = `tensor distances need the directory, which process ${source.via.pid} owns; rerun when it finishes`;
        } else {
          view.tensors = await withWorkspace(opts.dir, 'ckpt diff', async (ws) => {
            const [la, lb] = [await ws.store.loadId(view.a.id), await ws.store.loadId(view.b.id)];
            return tensorDiff(la.state, lb.state);
          });
        }
      }
      if (out.json) return out.document(tensorsNote ? { ...view, tensors: null, note: tensorsNote } : view);
      out.line(`${out.c.bold(view.a.id)} (${view.a.run}, epoch ${view.a.epoch})  vs  ${out.c.bold(view.b.id)} (${view.b.run}, epoch ${view.b.epoch})${view.sameWeights ? out.c.green('  identical weights') : ''}`);
      out.line();
      out.table(['METRIC', view.a.id, view.b.id, 'DELTA'], view.metrics.map((m) => [m.metric, formatMetric(m.a), formatMetric(m.b), formatDelta(m.delta)]), ['left', 'right', 'right', 'right']);
      if (view.tensors) {
        out.line();
        out.table(
          ['TENSOR', 'DTYPE', 'SHAPE', 'L2', 'MAX |Δ|'],
          view.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(',')}]`, t.l2 === null ? t.note ?? '-' : t.l2.toExponential(4), t.maxAbs === null ? '-' : t.maxAbs.toExponential(4)]),
          ['left', 'left', 'left', 'right', 'right'],
        );
      }
      if (tensorsNote) out.note(tensorsNote);
    },
  );
}
