/**
 * Finds the FitRun that the callbacks of one `model.fit` share per directory. The first callback to join
 * creates it; the last one to leave releases the workspace, so a later `fit` starts a new run.
 *
 * tfjs skips onTrainEnd when `fit` fails (a bad batch, another callback throwing), which would leave the
 * directory open and locked in this process. So a run whose model is no longer training is released: by a
 * watcher a moment after `fit` returns, and at once when any later `fit` joins a run.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { FitRun } from './fit-run.js';
import type { Participant } from './participant.js';
import { leaseWorkspace, releaseWorkspace } from './workspace-pool.js';

interface Slot { model: tf.LayersModel; key: string; run: Promise<FitRun>; members: Set<Participant>; watcher: NodeJS.Timeout }

const slots = new Map<tf.LayersModel, Map<string, Slot>>();
/** Releases under way: a later fit waits for them, so it sees every commit of the fit before it. */
const releasing = new Set<Promise<void>>();

/** How often a live run checks that its `fit` is still going. */
const WATCH_MS = 200;

const isTraining = (model: tf.LayersModel): boolean => (model as unknown as { isTraining: boolean }).isTraining === true;

/**
 * Join (or create) the run of `model`'s current fit in `dir`. Pair with {@link leaveFitRun}.
 * @example const run = await joinFitRun(model, './checkpoints', participant)
 */
export async function joinFitRun(model: tf.LayersModel, dir: string, participant: Participant): Promise<FitRun> {
  await releaseStale();
  await Promise.all([...releasing]);
  const key = resolve(dir);
  let byDir = slots.get(model);
  if (!byDir) slots.set(model, (byDir = new Map()));
  let slot = byDir.get(key);
  if (slot?.members.has(participant)) {
    // Already in: the previous fit of this model ended without onTrainEnd. Start over.
    await releaseSlot(slot);
    slot = undefined;
  }
  if (!slot) {
    const created: Slot = {
      model, key, members: new Set(),
      run: leaseWorkspace(key).then((ws) => new FitRun(ws, model)),
      watcher: setInterval(() => { if (!isTraining(model)) void releaseSlot(created).catch(() => undefined); }, WATCH_MS).unref(),
    };
    byDir.set(key, (slot = created));
    try {
      await created.run;
    } catch (error) {
      forget(created);
      throw error;
    }
  } else {
    await leaseWorkspace(key);
  }
  slot.members.add(participant);
  const run = await slot.run;
  run.join(participant);
  return run;
}

/**
 * Leave the run; the last participant's leave forgets the run and releases the workspace.
 * @example await leaveFitRun(model, './checkpoints', participant)
 */
export async function leaveFitRun(model: tf.LayersModel, dir: string, participant: Participant): Promise<void> {
  const slot = slots.get(model)?.get(resolve(dir));
  if (!slot || !slot.members.delete(participant)) return;
  if (slot.members.size === 0) {
    forget(slot);
    await (await slot.run).settle();
  }
  await releaseWorkspace(slot.key);
}

/**
 * Forget the run after a failure inside `fit`: release every participant's lease.
 * @example await abandonFitRun(model, './checkpoints')
 */
export async function abandonFitRun(model: tf.LayersModel, dir: string): Promise<void> {
  const slot = slots.get(model)?.get(resolve(dir));
  if (slot) await releaseSlot(slot);
}

async function releaseSlot(slot: Slot): Promise<void> {
  if (slots.get(slot.model)?.get(slot.key) !== slot) return;
  forget(slot);
  const release = (async () => {
    // Let background saves finish before the workspace may close under them.
    await (await slot.run.catch(() => undefined))?.settle();
    const leases = slot.members.size;
    slot.members.clear();
    for (let i = 0; i < leases; i++) await releaseWorkspace(slot.key);
  })();
  releasing.add(release);
  try {
    await release;
  } finally {
    releasing.delete(release);
  }
}

function forget(slot: Slot): void {
  clearInterval(slot.watcher);
  const byDir = slots.get(slot.model);
  if (byDir?.get(slot.key) === slot) byDir.delete(slot.key);
  if (byDir?.size === 0) slots.delete(slot.model);
}

/** Release every run whose model stopped training without telling its callbacks. */
async function releaseStale(): Promise<void> {
  const stale = [...slots.values()].flatMap((byDir) => [...byDir.values()]).filter((s) => !isTraining(s.model));
  for (const slot of stale) await releaseSlot(slot);
}
