import type { Command } from 'commander';
import { replay } from '../../policy/index.js';
import { importPredicate, loadPolicy } from '../../run/load-policy.js';
import { CkptError } from '../../errors.js';
import { historyView } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatMetric } from '../format.js';
import { withRead } from '../read-helpers.js';

/**
 * `ckpt replay --policy <preset|file.json> [--run R]`: what another policy would have saved and kept over a
 * recorded run, side by side with what the run really saved and kept.
 */
export function registerReplay(program: Command): void {
  defineCommand<CommonOptions & { policy: string; run?: string }>(
    program,
    { name: 'replay', description: 'what another policy would have saved and kept over a run', examples: ['ckpt replay --policy short', 'ckpt replay --policy ./policy.json --run run-2 --json'] },
    (cmd) => cmd.requiredOption('--policy <preset|file.json>', 'the policy to try: short, normal, long, or a JSON file').option('--run <run>', 'the run to replay (default: the newest)'),
    async (_args, opts, out) => {
      const policy = await loadPolicy(opts.policy, { cwd: process.cwd() });
      const predicate = policy.config.predicate ? await importPredicate(policy.config.predicate) : undefined;
      await withRead(opts.dir, async (source) => {
        const run = opts.run ?? source.state.runOrder[source.state.runOrder.length - 1];
        if (!run || !source.state.runs[run]) throw new CkptError('CLI_RUN_UNKNOWN', `no run "${opts.run ?? ''}" in ${opts.dir}; see \`ckpt summary\` for the runs`, { details: { run: opts.run } });
        const events = await source.events();
        const result = replay(events, policy.config, { run, predicate });
        const saved = new Set(result.wouldSave.map((w) => w.epoch));
        const epochs = historyView(source.state, { run });
        const monitor = Object.keys(source.state.monitors)[0] ?? 'val_loss';
        const rows = epochs.map((e) => ({
          epoch: e.epoch,
          [monitor]: e.metrics[monitor] ?? null,
          actual: e.checkpoint ? `saved ${e.checkpoint}` : e.decisions.includes('skip') ? 'skipped' : '-',
          replay: saved.has(e.epoch) ? 'save' : 'skip',
        }));
        const report = { run, policy: result.config, epochs: rows, wouldSave: result.wouldSave, kept: result.kept, actuallyKept: result.actuallyKept, decisions: result.decisions };
        if (out.json) return out.document(report);
        out.line(`${run} replayed under ${opts.policy}`);
        out.table(['EPOCH', monitor, 'ACTUAL', 'REPLAY'], rows.map((r) => [String(r.epoch), formatMetric(r[monitor] as number | null), r.actual, r.replay === 'save' ? out.c.green('save') : out.c.dim('skip')]), ['right', 'right']);
        out.line();
        out.fields([['replay would keep', result.kept.join(', ') || '-'], ['actually kept', result.actuallyKept.join(', ') || '-']]);
        for (const w of result.wouldSave.filter((x) => !x.available)) out.line(out.c.yellow(`  ${w.note}`));
      });
    },
  );
}
