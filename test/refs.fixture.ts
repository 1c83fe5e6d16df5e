/**
 * Fixture (not a suite): a workspace built by code through the store's commit API, holding every kind of
 * checkpoint a ref can meet — kept, pruned, corrupt (a blob byte flipped on disk), missing (a blob deleted), and
 * NaN / -Infinity / +Infinity metrics — over two runs.
 *
 * run-1 (monitors val_loss, min): ckpt-1 e1 .50 pruned · ckpt-2 e2 .30 corrupt · ckpt-3 e3 .32 missing ·
 *                                 ckpt-4 e4 .35 kept · ckpt-5 e5 .45 kept
 * run-2 (same policy):            ckpt-6 e1 NaN · ckpt-7 e2 -Infinity · ckpt-8 e3 +Infinity (val_acc .99), all kept
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { openWorkspace } from '../src/workspace.js';
import { meta, modelState } from './store.fixtures.js';

const POLICY = { monitors: [{ metric: 'val_loss', mode: 'min' }] };

function runStarted(run: string) {
  return {
    stream: run, type: 'RunStarted',
    data: { run, trainer: 'test-trainer', trainerVersion: '0.0.1', backend: 'cpu', protocol: 1, seed: 1, epochs: 5, batchSize: 8, trainerConfig: {}, policy: POLICY, pid: 1 },
  };
}

/** Build the workspace in `dir` (closed on return). */
export async function buildRefsWorkspace(dir: string): Promise<void> {
  const ws = await openWorkspace(dir, { create: true });
  try {
    await ws.ledger.append([runStarted('run-1')], { durable: true });
    const run1 = [0.5, 0.3, 0.32, 0.35, 0.45];
    for (const [i, val_loss] of run1.entries()) await ws.store.commit(modelState(i + 1, i + 1), meta('run-1', i + 1, { val_loss, val_acc: 0.5 + i / 100 }));
    await ws.ledger.append([runStarted('run-2')], { durable: true });
    const run2 = [NaN, -Infinity, Infinity];
    for (const [i, val_loss] of run2.entries()) await ws.store.commit(modelState(i + 6, i + 1), meta('run-2', i + 1, { val_loss, val_acc: i === 2 ? 0.99 : 0.4 }));

    await ws.store.prune('ckpt-1', { reason: 'fixture' });
    const kernel = (id: string) => ws.store.load(id).then((l) => l.manifest.objects.model.weights[0].blob);
    const flipped = ws.store.blobs.path(await kernel('ckpt-2'));
    const bytes = await readFile(flipped);
    bytes[bytes.length >> 1] ^= 0x10;
    await writeFile(flipped, bytes);
    await unlink(ws.store.blobs.path(await kernel('ckpt-3')));
    const results = await ws.store.verify(['ckpt-2', 'ckpt-3']);
    if (results.some((r) => r.ok)) throw new Error('fixture: the damage was not detected');
  } finally {
    await ws.close();
  }
}

/** What each ref must mean in that workspace: a checkpoint id, or the error code every command fails with. */
export const EXPECTED: Record<string, { id: string } | { code: string }> = {
  'ckpt-4': { id: 'ckpt-4' },
  'ckpt-1': { id: 'ckpt-1' }, // an id names its checkpoint whatever its status
  'ckpt-2': { id: 'ckpt-2' },
  'ckpt-3': { id: 'ckpt-3' },
  'ckpt-7': { id: 'ckpt-7' },
  'ckpt-99': { code: 'CLI_REF_UNKNOWN' },
  best: { id: 'ckpt-4' }, // ckpt-2 (.30) corrupt, ckpt-3 (.32) missing, -Infinity never best
  'best:val_loss': { id: 'ckpt-4' },
  'best:val_acc': { id: 'ckpt-8' },
  'best:throughput': { code: 'POLICY_MODE_UNKNOWN' },
  'run-2/best': { code: 'CLI_REF_UNKNOWN' }, // only NaN / ±Infinity there
  'run-1/best': { id: 'ckpt-4' },
  latest: { id: 'ckpt-8' },
  'run-1/latest': { id: 'ckpt-5' },
  'run-9/latest': { code: 'CLI_REF_UNKNOWN' },
  'epoch:2': { id: 'ckpt-7' }, // the newest kept checkpoint of epoch 2 (run-1's is corrupt)
  'run-1/epoch:1': { code: 'STORE_PRUNED' },
  'run-1/epoch:2': { code: 'STORE_CORRUPT' },
  'run-1/epoch:3': { code: 'STORE_CORRUPT' }, // its blob is missing
  'epoch:9': { code: 'CLI_REF_UNKNOWN' },
  'newest!': { code: 'CLI_REF_INVALID' },
};

/** Status of each checkpoint in the fixture. */
export const STATUS: Record<string, string> = {
  'ckpt-1': 'pruned', 'ckpt-2': 'corrupt', 'ckpt-3': 'missing', 'ckpt-4': 'kept', 'ckpt-5': 'kept', 'ckpt-6': 'kept', 'ckpt-7': 'kept', 'ckpt-8': 'kept',
};
