/**
 * The real wiring of `train()`: the workspace's checkpoint store (src/store) seen through the RunStore port,
 * and the policy engine (src/policy) run over the ledger by PolicyFeed.
 *
 * @example const ws = await defaultPorts.openWorkspace('./checkpoints')
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import type { CheckpointState } from '../checkpoint.js';
import type { CheckpointCommitted } from '../events.js';
import { policyProjection } from '../policy/index.js';
import { loadPolicy } from './load-policy.js';
import type { CheckpointStore } from '../store/store.js';
import { weightsDigest } from '../store/digest.js';
import { openWorkspace } from '../workspace.js';
import { PolicyFeed } from './policy-feed.js';
import type { CommitMeta, RunStore, TrainPorts } from './ports.js';

/** The stored event of `type` after `afterSeq` whose data matches, read back for its seq. */
async function storedEvent(ledger: Ledger, stream: string, afterSeq: number, type: string, match: (data: any) => boolean): Promise<LedgerEvent | undefined> {
  let found: LedgerEvent | undefined;
  for await (const event of ledger.read({ stream, fromSeq: afterSeq + 1, types: [type] })) if (match(event.data)) found = event;
  return found;
}

/**
 * The RunStore port over a CheckpointStore.
 * @example const store = storePort(workspace.store)
 */
export function storePort(store: CheckpointStore): RunStore {
  const ledger = store.ledger;
  return {
    async commit(state: CheckpointState, meta: CommitMeta): Promise<LedgerEvent<CheckpointCommitted>> {
      const data = await store.commit(state, meta);
      const entry = store.entry(data.checkpoint);
      return { seq: entry.seq, id: `commit-${data.checkpoint}`, stream: data.run, type: 'CheckpointCommitted', v: 1, at: entry.at, data };
    },
    async load(checkpoint) {
      return (await store.loadId(checkpoint)).state;
    },
    async loadNewestVerified(run) {
      const loaded = await store.loadNewestVerified(run);
      return loaded ? { checkpoint: loaded.id, state: loaded.state } : null;
    },
    async prune(checkpoint, intentSeq) {
      const before = ledger.lastSeq;
      const stream = store.entry(checkpoint).run;
      await store.prune(checkpoint, { intentSeq });
      return storedEvent(ledger, stream, before, 'CheckpointPruned', (d) => d.checkpoint === checkpoint);
    },
    async backup(checkpoint, target) {
      const before = ledger.lastSeq;
      const stream = store.entry(checkpoint).run;
      await store.backup(checkpoint, target);
      return storedEvent(ledger, stream, before, 'BackupVerified', (d) => d.checkpoint === checkpoint);
    },
    weightsDigest,
  };
}

export const defaultPorts: TrainPorts = {
  async openWorkspace(dir) {
    const ws = await openWorkspace(dir, { create: true, watch: true });
    return { dir: ws.dir, ledger: ws.ledger, store: storePort(ws.store), checkpointStore: ws.store, close: () => ws.close() };
  },
  async createPolicy({ ledger, run, config }) {
    const policy = await loadPolicy(config, { cwd: process.cwd() });
    // The policy's state for this run is its ledger projection (snapshotted, so a resume need not replay all).
    const state = await ledger.register(policyProjection(policy, run));
    return PolicyFeed.fromState(policy, ledger, run, state, ledger.lastSeq);
  },
};
