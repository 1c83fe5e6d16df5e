import type { Command } from 'commander';
import { summaryView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes, formatMetric, formatRatio } from '../format.js';
import { statusCell } from '../read-helpers.js';
import { readView } from '../source.js';

/** `ckpt summary`: counts, logical/physical bytes, dedupe ratio, best, latest, runs, crashes, resumes. */
export function registerSummary(program: Command): void {
  defineCommand<CommonOptions>(
    program,
    { name: 'summary', description: 'counts, bytes, dedupe ratio, best, latest, runs, crashes, resumes', examples: ['ckpt summary', 'ckpt summary --json'] },
    () => {},
    async (_args, opts, out) => {
      const s = await readView(opts.dir, 'summary', {}, (state) => summaryView(state));
      {
        if (out.json) return out.document(s);
        const k = s.checkpoints;
        out.fields([
          ['checkpoints', `${k.kept} kept, ${k.pruned} pruned, ${k.corrupt} corrupt, ${k.missing} missing (${k.total} total, ${k.pinned} pinned)`],
          ['bytes', `${formatBytes(s.bytes.logical)} logical, ${formatBytes(s.bytes.physical)} physical, dedupe ${formatRatio(s.bytes.dedupeRatio)}`],
          ['best', s.best ? `${s.best.checkpoint.id} (${s.best.monitor}=${formatMetric(s.best.value)}, epoch ${s.best.checkpoint.epoch})` : '-'],
          ['latest', s.latest ? `${s.latest.id} (epoch ${s.latest.epoch}, ${s.latest.run})` : '-'],
          ['runs', `${s.runs.length} (${s.crashes} crashes, ${s.resumes} resumes)`],
          ['decisions', Object.entries(s.decisions).map(([kind, n]) => `${n} ${kind}`).join(', ') || '-'],
          ['events', String(s.lastSeq)],
        ]);
        if (s.runs.length) {
          out.line();
          out.table(
            ['RUN', 'STATUS', 'TRAINER', 'EPOCH', 'CHECKPOINTS', 'CRASHES', 'RESUMES'],
            s.runs.map((r) => [r.id, statusCell(out, r.status), r.trainer, `${r.epoch}/${r.epochs}`, String(r.checkpoints), String(r.crashes), String(r.resumes)]),
            ['left', 'left', 'left', 'right', 'right', 'right', 'right'],
          );
        }
      }
    },
  );
}
