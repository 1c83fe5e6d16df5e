import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';

/** `ckpt unpin <ref> [--reason TEXT]`: let retention prune it again. */
export function registerUnpin(program: Command): void {
  defineCommand<CommonOptions & { reason?: string }>(
    program,
    { name: 'unpin <ref>', description: 'unpin a checkpoint', examples: ['ckpt unpin ckpt-3'] },
    (cmd) => cmd.option('--reason <text>', 'why (recorded in the ledger)'),
    async ([ref], opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt unpin', async (ws) => ws.store.unpin(resolveStoreRef(ws, ref), opts.reason));
      if (out.json) return out.document({ ...result, pinned: false });
      out.line(`unpinned ${result.checkpoint}`);
    },
  );
}
