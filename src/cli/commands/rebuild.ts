import type { Command } from 'commander';
import { isDeepStrictEqual } from 'node:util';
import type { Projection } from '../../../ledger/types.js';
import { coreProjections } from '../../projections/index.js';
import { policyProjection } from '../../policy/index.js';
import { loadPolicy } from '../../run/load-policy.js';
import { catalogProjection, readViewState, summaryView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes, formatRatio } from '../format.js';
import { startProgress } from '../progress.js';
import { withWorkspace } from '../workspace.js';

/**
 * `ckpt rebuild`: fold every projection again from event 1 (ignoring snapshots) and compare with the state the
 * directory had; prints the rebuilt state's summary. Exit 1 if any projection differs (a bug or a corrupt
 * snapshot), which is exactly what this command exists to catch.
 */
export function registerRebuild(program: Command): void {
  defineCommand<CommonOptions>(
    program,
    { name: 'rebuild', description: 'rebuild projections from events; check they equal the state before', examples: ['ckpt rebuild', 'ckpt rebuild --json'] },
    () => {},
    async (_args, opts, out) => {
      const report = await withWorkspace(opts.dir, 'ckpt rebuild', async (ws) => {
        const views = await readViewState(ws.ledger);
        const projections: Projection<any>[] = [...coreProjections.filter((p) => p.name !== catalogProjection.name), catalogProjection];
        // Each run's policy state is a projection too (what a resume continues from).
        for (const run of views.runOrder) {
          try {
            const p = policyProjection(await loadPolicy(views.runs[run].policy), run);
            await ws.ledger.register(p);
            projections.push(p);
          } catch {
            // A policy that no longer loads (e.g. a moved predicate module) cannot be rebuilt; the others still are.
          }
        }
        const bar = startProgress(out, 'rebuild', projections.length);
        const rows: { projection: string; version: number; equal: boolean }[] = [];
        let rebuiltViews;
        try {
          for (const p of projections) {
            const before = ws.ledger.state(p.name);
            const rebuilt = await ws.ledger.rebuild(p);
            if (p === catalogProjection) rebuiltViews = rebuilt;
            rows.push({ projection: p.name, version: p.version, equal: isDeepStrictEqual(normalize(before), normalize(rebuilt)) });
            bar.tick(1, p.name);
          }
        } finally {
          bar.stop();
        }
        return { events: ws.ledger.lastSeq, projections: rows, equal: rows.every((r) => r.equal), summary: summaryView(rebuiltViews!) };
      });
      if (out.json) out.document(report);
      else {
        out.table(['PROJECTION', 'VERSION', 'REBUILT = BEFORE'], report.projections.map((r) => [r.projection, String(r.version), r.equal ? out.c.green('yes') : out.c.red('NO')]), ['left', 'right']);
        const s = report.summary;
        out.line(`${report.events} events → ${s.checkpoints.kept} kept / ${s.checkpoints.total} checkpoints, ${formatBytes(s.bytes.logical)} logical, ${formatBytes(s.bytes.physical)} physical (${formatRatio(s.bytes.dedupeRatio)}), best ${s.best?.checkpoint.id ?? '-'}, latest ${s.latest?.id ?? '-'}, ${s.runs.length} runs`);
      }
      if (!report.equal) {
        out.note(`LEDGER_CORRUPT: rebuilt projection${report.projections.filter((r) => !r.equal).length > 1 ? 's differ' : ' differs'} from the stored state: ${report.projections.filter((r) => !r.equal).map((r) => r.projection).join(', ')}; report it with \`ckpt rebuild --json\``);
        return 1;
      }
      return 0;
    },
  );
}

/** Compare as plain data (a snapshot round trip may turn undefined into missing keys). */
function normalize(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}
