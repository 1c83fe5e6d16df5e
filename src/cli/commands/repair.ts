import type { Command } from 'commander';
import { repairDirectory, type RepairOptions, type RepairReport } from '../../repair/repair.js';
import { defineCommand, nonNegativeInt, positiveInt, type CommonOptions } from '../command.js';
import type { Output } from '../output.js';
import { assertNotOwned } from '../source.js';

type RepairCliOptions = CommonOptions & RepairOptions;

/**
 * `ckpt repair`: make a damaged or rolled-back ledger usable again (LevelDB's own repair first, else a ledger
 * rebuilt from its readable prefix and the manifests in the store), and put back every committed checkpoint the
 * store holds beyond it. The damaged directory is kept as `ledger.damaged-<time>`. Exit 0 when the ledger is
 * usable afterwards (what could not be recovered is printed and recorded in a LedgerRecovered event).
 */
export function registerRepair(program: Command): void {
  defineCommand<RepairCliOptions>(
    program,
    {
      name: 'repair',
      description: 'repair a damaged ledger and bring back checkpoints the store holds beyond it',
      examples: ['ckpt repair', 'ckpt repair --dir ./checkpoints --trainer ./my_trainer.py --epochs 20 --seed 1'],
    },
    (cmd) =>
      cmd
        .option('--trainer <name|path>', 'for a run whose start was lost: its trainer program')
        .option('--epochs <n>', 'for a run whose start was lost: its planned epochs (default: its newest checkpoint\'s)', positiveInt('--epochs'))
        .option('--seed <n>', 'for a run whose start was lost: its seed (default 42)', nonNegativeInt('--seed'))
        .option('--batch-size <n>', 'for a run whose start was lost: its batch size (default 32)', positiveInt('--batch-size'))
        .option('--policy <preset|file.json>', 'for a run whose start was lost: its policy (default normal)'),
    async (_args, opts, out) => {
      await assertNotOwned(opts.dir, 'ckpt repair');
      const { trainer, epochs, seed, batchSize, policy } = opts;
      const report = await repairDirectory(opts.dir, { trainer, epochs, seed, batchSize, policy });
      if (out.json) return out.document(report);
      printReport(out, report);
    },
  );
}

function printReport(out: Output, report: RepairReport): void {
  const { before, recovered } = report;
  out.line(before.ok ? `ledger: opens and reads cleanly (${before.lastSeq} events)` : `ledger: ${before.error?.code}: ${before.error?.message}`);
  if (report.levelRepairError) out.line(`LevelDB repair failed: ${report.levelRepairError}`);
  if (!recovered) {
    out.line('nothing to repair: the ledger and the store agree');
    return;
  }
  const how = { completed: 'kept as it was', leveldb: `repaired by LevelDB's own repair (${recovered.keptEvents} events readable)`, rebuilt: `rebuilt: ${recovered.keptEvents} readable events kept, then the store's manifests` }[recovered.method];
  out.line(`ledger ${how}${recovered.damaged ? `; the damaged directory is kept at ${recovered.damaged}` : ''}`);
  for (const c of recovered.checkpoints) out.line(`  recovered ${c.checkpoint}: ${c.run} epoch ${c.epoch}, step ${c.step} (manifest ${c.manifest.slice(0, 12)})`);
  for (const id of recovered.prunes) out.line(`  pruned    ${id}: its files are gone (removed by a prune the ledger lost)`);
  for (const s of recovered.skipped) out.line(`  skipped   manifest ${s.manifest.slice(0, 12)}: ${s.reason}`);
  for (const line of recovered.lost) out.line(`  not recovered: ${line}`);
  out.line(`${report.events} events; check with \`ckpt ls --all\` and \`ckpt verify --all\`, continue with \`ckpt train --resume\``);
}
