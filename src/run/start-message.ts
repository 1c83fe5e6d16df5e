/**
 * The `start` command for a trainer session: its config and seed, the resume state if any, and — for a trainer
 * with the `stage` capability and a local store — a fresh staging directory (docs/protocol.md, "Staged tensors").
 * A `stage` trainer reads the resume state's verified blob files itself; any other gets the tensors in the frame.
 *
 * @example const message = await startMessage(start, true, store) // { type: 'start', ..., staging: { dir } }
 */
import type { Start } from '../protocol/messages.js';
import { createStagingDir } from '../store/staged.js';
import type { RunStore } from './ports.js';
import type { SessionStart } from './session-types.js';

export async function startMessage(start: SessionStart, stages: boolean, store: Pick<RunStore, 'stagingRoot' | 'inMemory'>): Promise<Start> {
  const { config, seed } = start;
  if (stages && store.stagingRoot !== null) {
    const staging = { dir: await createStagingDir(store.stagingRoot) };
    return { type: 'start', config, seed, ...(start.state ? { state: start.state } : {}), staging };
  }
  return { type: 'start', config, seed, ...(start.state ? { state: await store.inMemory(start.state) } : {}) };
}
