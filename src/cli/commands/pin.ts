import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';

/** `ckpt pin <ref> [--reason TEXT]`: pinned checkpoints are never pruned. */
export function registerPin(program: Command): void {
  defineCommand<CommonOptions & { reason?: string }>(
    program,
    { name: 'pin <ref>', description: 'pin a checkpoint: retention never prunes it', examples: ['ckpt pin best --reason "shipped model"'] },
    (cmd) => cmd.option('--reason <text>', 'why it is pinned (recorded in the ledger)'),
    async ([ref], opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt pin', async (ws) => ws.store.pin(resolveStoreRef(ws, ref), opts.reason));
      if (out.json) return out.document({ ...result, pinned: true });
      out.line(`pinned ${result.checkpoint}${result.reason ? `: ${result.reason}` : ''}`);
    },
  );
}
