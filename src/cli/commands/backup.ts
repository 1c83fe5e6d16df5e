import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { startProgress } from '../progress.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';

/** `ckpt backup <ref> --to DIR`: copy a checkpoint, verify the copy, record BackupVerified. */
export function registerBackup(program: Command): void {
  defineCommand<CommonOptions & { to: string }>(
    program,
    { name: 'backup <ref>', description: 'copy a checkpoint to a directory and verify the copy', examples: ['ckpt backup best --to /mnt/backup/ckpt'] },
    (cmd) => cmd.requiredOption('--to <dir>', 'target directory'),
    async ([ref], opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt backup', async (ws) => {
        const id = resolveStoreRef(ws, ref);
        const bar = startProgress(out, 'backup', 1);
        try {
          return await ws.store.backup(id, opts.to);
        } finally {
          bar.tick(1, id);
          bar.stop();
        }
      });
      if (out.json) return out.document(result);
      out.line(`backed up ${result.checkpoint} to ${result.target}: ${result.blobs} blobs, ${formatBytes(result.bytes)} verified`);
    },
  );
}
