import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { startProgress } from '../progress.js';
import { withWorkspace } from '../workspace.js';
import { plural } from '../../text.js';

/** `ckpt import <bundle>`: bring an exported bundle into this directory after verifying every hash. */
export function registerImport(program: Command): void {
  defineCommand<CommonOptions>(
    program,
    { name: 'import <bundle>', description: 'import a bundle (every hash verified first)', examples: ['ckpt import ckpt-3.ckpt --dir ./other'] },
    () => {},
    async ([bundle], opts, out) => {
      const result = await withWorkspace(opts.dir, 'ckpt import', async (ws) => {
        const bar = startProgress(out, 'import', 1);
        try {
          return await ws.store.importBundle(bundle);
        } finally {
          bar.tick(1);
          bar.stop();
        }
      }, { create: true });
      if (out.json) return out.document(result);
      out.line(result.alreadyPresent
        ? `${result.originalId} is already here as ${result.checkpoint}`
        : `imported ${result.originalId} as ${result.checkpoint} (${plural(result.blobs, 'blob')}, ${formatBytes(result.bytes)})`);
    },
  );
}
