/**
 * What the supervisor needs from the store and the policy, as small interfaces. `workspace-ports.ts` builds
 * them from the real workspace (checkpoint store + catalog) and policy engine; tests may pass their own.
 */
import type { CheckpointStore } from '../store/store.js';
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import type { CheckpointState, WireState } from '../checkpoint.js';
import type { TensorForm } from '../store/load.js';
import type { CheckpointCommitted, Decision } from '../events.js';
import type { CommitMeta } from '../store/write.js';

/** Facts the store records with a checkpoint besides its content (the store's own type). */
export type { CommitMeta } from '../store/write.js';

export interface RunStore {
  /** Write blobs + manifest durably, then append CheckpointCommitted; resolves with that stored event. */
  commit(state: WireState, meta: CommitMeta): Promise<LedgerEvent<CheckpointCommitted>>;
  /**
   * Load and verify (SHA-256) one committed checkpoint; throws STORE_* when it does not verify. `files`: raw tensors
   * as their verified blobs' paths where the store is local (a `stage` trainer reads them itself).
   */
  load(checkpoint: string, form: TensorForm): Promise<WireState>;
  /** The newest checkpoint of a run that verifies (falling back past bad ones), or null: the resume point. */
  loadNewestVerified(run: string, form: TensorForm): Promise<{ checkpoint: string; state: WireState } | null>;
  /** A state with its staged tensors read into memory and verified (for a trainer that takes frames only). */
  inMemory(state: WireState): Promise<CheckpointState>;
  /** Where staging directories go (capability `stage`), or null when the store's blobs are not local files. */
  readonly stagingRoot: string | null;
  /** Carry out a PruneIntended decision; resolves with the stored CheckpointPruned event, if any. */
  prune(checkpoint: string, intent: { intentSeq: number; reason: string }): Promise<LedgerEvent | undefined>;
  /** Carry out a BackupIntended decision; resolves with the stored BackupVerified event (rejects when it failed). */
  backup(checkpoint: string, target: string, intentSeq: number): Promise<LedgerEvent | undefined>;
  /** Remove blobs no checkpoint references (what a failed commit left behind); resolves with how many. */
  removeOrphans(): Promise<number>;
  /** Digest of the weights only (not optimizer or trainer state): equal digests mean bit-identical weights. */
  weightsDigest(state: WireState): Promise<string>;
}

export interface RunPolicy {
  /** The normalized policy configuration recorded in RunStarted. */
  readonly config: Record<string, unknown>;
  /** Feed one stored event of the run (in ledger order); returns the decisions it causes. */
  decide(event: LedgerEvent): Promise<Decision[]>;
}

/** An open workspace as the supervisor sees it. */
export interface RunWorkspace {
  dir: string;
  ledger: Ledger;
  store: RunStore;
  /** The whole checkpoint store, when there is one: `--serve`'s page acts on it (pin, tag, prune, verify, export). */
  checkpointStore?: CheckpointStore;
  close(): Promise<void>;
}

/** How `train()` opens a workspace and builds a run's policy (replaceable in tests). */
export interface TrainPorts {
  openWorkspace(dir: string): Promise<RunWorkspace>;
  createPolicy(input: { ledger: Ledger; run: string; config: string | Record<string, unknown> }): Promise<RunPolicy>;
}
