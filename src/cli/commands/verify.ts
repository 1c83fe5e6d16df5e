import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { usageError } from '../failure.js';
import { startProgress } from '../progress.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';
import type { VerifyResult } from '../../store/index.js';

/**
 * `ckpt verify [<ref> | --all]`: hash every blob; exit 1 naming each corrupt or missing checkpoint.
 * With no argument it verifies every checkpoint that is not pruned (same as --all).
 */
export function registerVerify(program: Command): void {
  defineCommand<CommonOptions & { all?: boolean }>(
    program,
    { name: 'verify [ref]', description: 'verify SHA-256 of checkpoints; exit 1 naming bad ones', examples: ['ckpt verify --all', 'ckpt verify best --json'] },
    (cmd) => cmd.option('-a, --all', 'verify every checkpoint that is not pruned (the default)'),
    async ([ref], opts, out) => {
      if (ref && opts.all) throw usageError('give a ref or --all, not both');
      const results = await withWorkspace(opts.dir, 'ckpt verify', async (ws) => {
        const ids = ref ? [resolveStoreRef(ws, ref)] : ws.store.catalog().order.filter((id) => ws.store.catalog().checkpoints[id].status !== 'pruned');
        const bar = startProgress(out, 'verify', ids.length);
        const done: VerifyResult[] = [];
        try {
          for (const id of ids) {
            done.push(...(await ws.store.verify([id])));
            bar.tick(1, id);
          }
        } finally {
          bar.stop();
        }
        return done;
      });
      const bad = results.filter((r) => !r.ok);
      if (out.json) {
        out.document({ ok: bad.length === 0, checked: results.length, failed: bad.map((r) => r.checkpoint), results });
      } else {
        out.table(
          ['CHECKPOINT', 'RESULT', 'BLOBS', 'BYTES', 'DETAIL'],
          results.map((r) => [r.checkpoint, r.ok ? out.c.green('ok') : out.c.red(r.fault?.kind ?? 'bad'), String(r.blobs), formatBytes(r.bytes), r.fault ? `blob ${r.fault.blob.slice(0, 12)}… ${r.fault.detail}` : '']),
          ['left', 'left', 'right', 'right'],
        );
      }
      if (bad.length) {
        out.note(`STORE_CORRUPT: ${bad.map((r) => `${r.checkpoint} is ${r.fault?.kind ?? 'corrupt'}`).join(', ')}; best/latest now skip ${bad.length === 1 ? 'it' : 'them'} — restore from a backup or prune`);
        return 1;
      }
      if (!out.json) out.line(`${results.length} checkpoint${results.length === 1 ? '' : 's'} verified`);
      return 0;
    },
  );
}
