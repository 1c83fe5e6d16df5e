import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { usageError } from '../failure.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';

/** `ckpt tag <ref> <tag...> [--description TEXT]`: add tags (recorded as CheckpointTagged). */
export function registerTag(program: Command): void {
  defineCommand<CommonOptions & { description?: string }>(
    program,
    { name: 'tag <ref> <tags...>', description: 'add tags (and a description) to a checkpoint', examples: ['ckpt tag best shipped v1 --description "release candidate"'] },
    (cmd) => cmd.option('--description <text>', 'set the description'),
    async ([ref, ...tags], opts, out) => {
      const clean = tags.map((t) => t.trim()).filter(Boolean);
      if (clean.length === 0) throw usageError('give at least one tag');
      const result = await withWorkspace(opts.dir, 'ckpt tag', async (ws) => ws.store.tag(resolveStoreRef(ws, ref), clean, opts.description));
      if (out.json) return out.document(result);
      out.line(`tagged ${result.checkpoint}: ${result.tags.join(', ')}${result.description ? ` — ${result.description}` : ''}`);
    },
  );
}
