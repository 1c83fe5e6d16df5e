/**
 * The commit protocol: blobs and manifest durable → CheckpointCommitted appended durably. A crash
 * before the event leaves only unreferenced files (gc removes them); nothing can reference a partial checkpoint.
 */
import type { LedgerEvent } from '../../ledger/types.js';
import type { WireState } from '../checkpoint.js';
import { CkptError } from '../errors.js';
import type { CheckpointCommitted } from '../events.js';
import { hasCode } from '../errors.js';
import { formatPosition, statePositionMatches } from '../protocol/position.js';
import { appendEvent, catalogOf, type StoreContext } from './context.js';
import { type CommitMeta, writeCheckpointContent } from './write.js';

/** Ids handed out by this process but perhaps not yet visible in the catalog. */
const reservedIds = new WeakMap<StoreContext, number>();

/** Next `ckpt-<n>`: counted over the whole directory (every run), never reused after a commit. Call under the mutex. */
export function nextCheckpointId(ctx: StoreContext): string {
  const n = Math.max(catalogOf(ctx).nextId, reservedIds.get(ctx) ?? 0);
  reservedIds.set(ctx, n + 1);
  return `ckpt-${n}`;
}

/**
 * Write a checkpoint and make it visible with one durable CheckpointCommitted event.
 * @example const committed = await commitCheckpoint(ctx, state, { run: 'run-1', epoch: 3, step: 300, metrics, trainer: 'mlp', backend: 'cpu' })
 */
export async function commitCheckpoint(ctx: StoreContext, state: WireState, meta: CommitMeta): Promise<CheckpointCommitted> {
  return (await commitCheckpointEvent(ctx, state, meta)).data;
}

/**
 * `commitCheckpoint`, resolving with the CheckpointCommitted event as stored (seq, id, at). A full disk is
 * STORE_NO_SPACE; nothing is committed then, and the blobs already written are unreferenced (gc removes them).
 * @example const { seq, data } = await commitCheckpointEvent(ctx, state, meta)
 */
export async function commitCheckpointEvent(ctx: StoreContext, state: WireState, meta: CommitMeta): Promise<LedgerEvent<CheckpointCommitted>> {
  assertSamePosition(state, meta);
  return ctx.mutex.run(async () => {
    const written = await writeCheckpointContent(ctx.blobs, state, meta, ctx.encoding).catch((error) => {
      if ((error as NodeJS.ErrnoException)?.code !== 'ENOSPC' && (error as { cause?: NodeJS.ErrnoException })?.cause?.code !== 'ENOSPC') throw error;
      throw new CkptError('STORE_NO_SPACE', `no space left on the device of ${ctx.dir} while writing a checkpoint of ${meta.run} at epoch ${meta.epoch}; free space, then \`ckpt train --resume\``, { cause: error, details: { run: meta.run, epoch: meta.epoch, step: meta.step } });
    });
    // The id is decided from the catalog as of `expectedSeq`: on a shared ledger another host may commit in
    // between (its catalog then names the same id), so the append is conditional and retried with a fresh id.
    for (;;) {
      const expectedSeq = ctx.ledger.lastSeq;
      const checkpoint = nextCheckpointId(ctx);
      const data: CheckpointCommitted = {
        checkpoint,
        run: meta.run,
        epoch: meta.epoch,
        step: meta.step,
        manifest: written.manifestHash,
        weightsDigest: written.manifest.weightsDigest,
        metrics: { ...meta.metrics },
        bytes: written.bytes,
        blobs: written.blobs,
        objects: Object.keys(written.manifest.objects),
        tags: [...(meta.tags ?? [])],
        ...(meta.description !== undefined ? { description: meta.description } : {}),
        ...(meta.decisionSeq !== undefined ? { decisionSeq: meta.decisionSeq } : {}),
        ...(meta.labels !== undefined ? { labels: [...meta.labels] } : {}),
        trainer: meta.trainer,
        backend: meta.backend,
      };
      try {
        return await appendEvent(ctx, meta.run, 'CheckpointCommitted', data, { expectedSeq });
      } catch (error) {
        if (!hasCode(error) || error.code !== 'LEDGER_CONFLICT') throw error;
        reservedIds.set(ctx, Number(checkpoint.slice('ckpt-'.length)));
      }
    }
  });
}

/**
 * A checkpoint holds exactly the state of the position it is recorded under: refuse a state whose own position
 * (`state.trainer.{epoch, step}`) is not `meta`'s (the rule of src/protocol/position.ts). Nothing is written.
 * @example assertSamePosition(stateOfEpoch12, { ...meta, epoch: 1, step: 4 }) // throws STORE_POSITION_MISMATCH
 */
export function assertSamePosition(state: WireState, meta: Pick<CommitMeta, 'epoch' | 'step'>): void {
  const own = state?.trainer;
  if (!own || typeof own !== 'object') return; // a state without `trainer` is refused by writeCheckpointContent's checks
  if (statePositionMatches(own, meta)) return;
  throw new CkptError('STORE_POSITION_MISMATCH', `refusing to commit the state of ${formatPosition(own)} as a checkpoint of ${formatPosition(meta)}; ask the trainer for exactly that position's state`, { details: { state: { epoch: own.epoch, step: own.step }, meta: { epoch: meta.epoch, step: meta.step } } });
}
