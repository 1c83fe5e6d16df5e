import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { startProgress } from '../progress.js';
import { withWorkspace } from '../workspace.js';

/** `ckpt gc [--dry-run]`: remove blobs no checkpoint references and leftover temp files. */
export function registerGc(program: Command): void {
  defineCommand<CommonOptions & { dryRun?: boolean }>(
    program,
    { name: 'gc', description: 'remove unreferenced blobs and temp files', examples: ['ckpt gc --dry-run', 'ckpt gc'] },
    (cmd) => cmd.option('-n, --dry-run', 'only report what would be removed'),
    async (_args, opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt gc', async (ws) => {
        const bar = startProgress(out, 'gc', 1);
        try {
          return await ws.store.gc({ dryRun: Boolean(opts.dryRun) });
        } finally {
          bar.tick(1);
          bar.stop();
        }
      });
      if (out.json) return out.document(result);
      const verb = result.dryRun ? 'would remove' : 'removed';
      out.line(`${verb} ${result.blobsDeleted} blobs (${formatBytes(result.bytesFreed)}) and ${result.tempsDeleted} temp files`);
    },
  );
}
