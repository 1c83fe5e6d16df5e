import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { startProgress } from '../progress.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';

const FORMATS = ['tfjs', 'safetensors', 'bundle'] as const;
type Format = (typeof FORMATS)[number];

/** `ckpt export <ref> --format tfjs|safetensors|bundle --out P [--include-optimizer]`. */
export function registerExport(program: Command): void {
  defineCommand<CommonOptions & { format: Format; out: string; includeOptimizer?: boolean }>(
    program,
    {
      name: 'export <ref>',
      description: 'export as a tfjs model, a .safetensors file or a bundle',
      examples: ['ckpt export best --format tfjs --out ./model', 'ckpt export ckpt-3 --format bundle --out ckpt-3.ckpt'],
    },
    (cmd) => cmd
      .requiredOption('--format <format>', `one of ${FORMATS.join(', ')}`, (v: string) => {
        if (!(FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${FORMATS.join(', ')}`);
        return v;
      })
      .requiredOption('-o, --out <path>', 'output path (directory for tfjs, file otherwise)')
      .option('--include-optimizer', 'also export optimizer weights (tfjs)'),
    async ([ref], opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt export', async (ws) => {
        const id = resolveStoreRef(ws, ref);
        const bar = startProgress(out, 'export', 1);
        try {
          return await ws.store.exportCheckpoint(id, { format: opts.format, out: opts.out, includeOptimizer: opts.includeOptimizer });
        } finally {
          bar.tick(1, id);
          bar.stop();
        }
      });
      if (out.json) return out.document(result);
      out.line(`exported ${result.checkpoint} as ${result.format} to ${result.path} (${result.files.length} file${result.files.length === 1 ? '' : 's'}, ${formatBytes(result.bytes)})`);
    },
  );
}
