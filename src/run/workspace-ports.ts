/**
 * The real wiring of `train()`: the workspace's checkpoint store (src/store) seen through the RunStore port,
 * and the policy engine (src/policy) run over the ledger by PolicyFeed. Every fact the store records comes
 * back as stored (ledger seq, id, at), so the processor feeds the policy exactly what a replay reads.
 *
 * @example const ws = await defaultPorts.openWorkspace('./checkpoints')
 */
import { policyProjection } from '../policy/index.js';
import { loadPolicy } from './load-policy.js';
import type { CheckpointStore } from '../store/store.js';
import type { BlobBackend } from '../store/blobs.js';
import { inMemoryVerified, stagingRoot, wireWeightsDigest } from '../store/staged.js';
import { openWorkspace } from '../workspace.js';
import { PolicyFeed } from './policy-feed.js';
import type { RunStore, TrainPorts } from './ports.js';

/**
 * The RunStore port over a CheckpointStore.
 * @example const store = storePort(workspace.store)
 */
export function storePort(store: CheckpointStore<BlobBackend>): RunStore {
  return {
    commit: (state, meta) => store.recorded.commit(state, meta),
    async load(checkpoint, form) {
      return (form === 'files' ? await store.loadIdFiles(checkpoint) : await store.loadId(checkpoint)).state;
    },
    async loadNewestVerified(run, form) {
      const loaded = await store.loadNewestVerified(run, form);
      return loaded ? { checkpoint: loaded.id, state: loaded.state } : null;
    },
    prune: (checkpoint, intent) => store.recorded.prune(checkpoint, intent),
    backup: (checkpoint, target) => store.recorded.backup(checkpoint, target),
    async removeOrphans() {
      return (await store.gc({ dryRun: false })).blobsDeleted;
    },
    inMemory: inMemoryVerified,
    stagingRoot: stagingRoot(store.blobs),
    weightsDigest: wireWeightsDigest,
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
