import type { Projection } from '../ledger/index.js';

/** Shared by the crash child and test: counts events and batches, so a torn snapshot would show. */
export const crashCounts: Projection<{ events: number; lastBatch: string | null; indexSum: number }> = {
  name: 'crash-counts',
  version: 1,
  init: () => ({ events: 0, lastBatch: null, indexSum: 0 }),
  evolve: (state, event) => {
    const { batch, index } = event.data as { batch: string; index: number };
    return { events: state.events + 1, lastBatch: batch, indexSum: state.indexSum + index };
  },
};

/** Snapshot often so SIGKILLs land around snapshot writes. */
export const CRASH_SNAPSHOT_EVERY = 25;
