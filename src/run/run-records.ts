/**
 * The run lifecycle facts both drivers record (the supervisor in `train.ts`, the in-process fit in
 * `tfjs/callbacks/run-lifecycle.ts`): a run that ended uncleanly, a stop. Which runs exist, and in what state,
 * both read from the one read model (the catalog's runs, src/projections/catalog-runs.ts).
 *
 * @example
 *   const last = latestRun(await readViewState(ledger));
 *   if (last?.status === 'running') await recordUncleanEnd(ledger, last, 'the supervisor');
 */
import type { EventInput, Ledger } from '../../ledger/types.js';
import type { RunCrashed, RunStopped } from '../events.js';
import type { RunEntry } from '../projections/catalog.js';

/**
 * RunCrashed for a run whose owner (`the supervisor`, `the fit process`) ended without finishing or stopping it.
 * @example uncleanEndEvent(last, 'the supervisor').data.code // 'RUN_UNCLEAN_END'
 */
export function uncleanEndEvent(run: RunEntry, owner: string): EventInput<RunCrashed> {
  const data: RunCrashed = { run: run.id, reason: `${owner} ended without finishing or stopping the run (killed?)`, code: 'RUN_UNCLEAN_END', attempt: run.crashes + 1 };
  return { stream: run.id, type: 'RunCrashed', data };
}

/**
 * The previous owner died mid-run (SIGKILL, power cut): say so in the ledger before anything else.
 * @example await recordUncleanEnd(ledger, last, 'the supervisor')
 */
export async function recordUncleanEnd(ledger: Ledger, run: RunEntry, owner: string): Promise<void> {
  await ledger.append([uncleanEndEvent(run, owner)], { durable: true });
}

/**
 * RunStopped after SIGINT/SIGTERM, durably.
 * @example await recordStopped(ledger, 'run-1', 'SIGINT')
 */
export async function recordStopped(ledger: Ledger, run: string, signal: NodeJS.Signals): Promise<void> {
  const data: RunStopped = { run, reason: `interrupted by ${signal}`, signal };
  await ledger.append([{ stream: run, type: 'RunStopped', data }], { durable: true });
}

/**
 * Decided saves of `run` that never became a checkpoint: positions with a SaveFailed and no CheckpointCommitted,
 * in either order (a second save decided at a failed save's position may commit it, and that commit can be
 * appended before the first save's SaveFailed).
 * @example const failed = await failedSaves(ledger, 'run-1') // 0 when every decided save was committed
 */
export async function failedSaves(ledger: Ledger, run: string): Promise<number> {
  const failed = new Set<string>();
  const committed = new Set<string>();
  for await (const event of ledger.read({ stream: run, types: ['SaveFailed', 'CheckpointCommitted'] })) {
    const { epoch, step } = event.data as { epoch: number; step: number };
    (event.type === 'SaveFailed' ? failed : committed).add(`${epoch}:${step}`);
  }
  let count = 0;
  for (const position of failed) if (!committed.has(position)) count++;
  return count;
}
