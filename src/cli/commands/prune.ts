import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';
import { plural } from '../../text.js';

/**
 * `ckpt prune <ref> [--reason TEXT]`: manual prune, recorded like a policy's (PruneIntended with rule `manual`
 * and the user's reason, then CheckpointPruned). Pinned checkpoints are refused (STORE_PINNED).
 */
export function registerPrune(program: Command): void {
  defineCommand<CommonOptions & { reason?: string }>(
    program,
    { name: 'prune <ref>', description: "prune a checkpoint by hand, recorded with your reason", examples: ['ckpt prune ckpt-2 --reason "diverged, never useful"'] },
    (cmd) => cmd.option('--reason <text>', 'why (recorded in the ledger)'),
    async ([ref], opts, out) => {
      const user = process.env.USER ?? process.env.USERNAME ?? 'user';
      const result = await withWorkspace(opts.dir, 'ckpt prune', async (ws) => {
        const id = resolveStoreRef(ws, ref);
        return ws.store.prune(id, { reason: `${opts.reason ?? `pruned ${id} by hand`} (by ${user})` });
      });
      if (out.json) return out.document(result);
      out.line(`pruned ${result.checkpoint}: ${plural(result.blobsDeleted, 'blob')} deleted, ${formatBytes(result.bytesFreed)} freed`);
    },
  );
}
