import type { Command } from 'commander';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes } from '../format.js';
import { usageError } from '../failure.js';
import { startProgress } from '../progress.js';
import { resolveStoreRef, withWorkspace } from '../workspace.js';
import type { VerifyResult } from '../../store/index.js';
import type { Output } from '../output.js';

/**
 * `ckpt verify [<ref> | --all]`: hash every blob; exit 1 naming each corrupt or missing checkpoint. A blob that is
 * damaged here but has a good copy in a verified backup is restored and reported "repaired from backup" (exit 0:
 * the checkpoint is whole again; both the fault and the repair are recorded).
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
        out.document({ ok: bad.length === 0, checked: results.length, failed: bad.map((r) => r.checkpoint), repaired: results.filter((r) => r.repaired?.length).map((r) => r.checkpoint), results });
      } else {
        out.table(
          ['CHECKPOINT', 'RESULT', 'BLOBS', 'BYTES', 'DETAIL'],
          results.map((r) => [r.checkpoint, resultCell(out, r), String(r.blobs), formatBytes(r.bytes), detailCell(r)]),
          ['left', 'left', 'right', 'right'],
        );
      }
      if (bad.length) {
        out.note(`STORE_CORRUPT: ${bad.map((r) => `${r.checkpoint} is ${r.fault?.kind ?? 'corrupt'}`).join(', ')}; best/latest now skip ${bad.length === 1 ? 'it' : 'them'} — restore from a backup or prune`);
        return 1;
      }
      const repaired = results.filter((r) => r.repaired?.length);
      if (!out.json) {
        out.line(`${results.length} checkpoint${results.length === 1 ? '' : 's'} verified`);
        if (repaired.length) out.line(`${repaired.map((r) => r.checkpoint).join(', ')} repaired from backup (recorded as CheckpointCorrupted/Missing + CheckpointRepaired; see \`ckpt log --kind repaired\`)`);
      }
      return 0;
    },
  );
}

function resultCell(out: Output, r: VerifyResult): string {
  if (!r.ok) return out.c.red(r.fault?.kind ?? 'bad');
  return r.repaired?.length ? out.c.yellow('repaired from backup') : out.c.green('ok');
}

function detailCell(r: VerifyResult): string {
  if (r.fault) return `blob ${r.fault.blob.slice(0, 12)}… ${r.fault.detail}`;
  return (r.repaired ?? []).map((x) => `blob ${x.blob.slice(0, 12)}… was ${x.fault}, copied from ${x.from}`).join('; ');
}
