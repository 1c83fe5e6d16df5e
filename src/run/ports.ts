/**
 * What the supervisor needs from the store and the policy, as small interfaces. `workspace-ports.ts` builds
 * them from the real workspace (checkpoint store + catalog) and policy engine; tests may pass their own.
 */
import type { CheckpointStore } from '../store/store.js';
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import type { CheckpointState } from '../checkpoint.js';
import type { CheckpointCommitted, Decision } from '../events.js';
import type { CommitMeta } from '../store/write.js';

/** Facts the store records with a checkpoint besides its content (the store's own type). */
export type { CommitMeta } from '../store/write.js';

export interface RunStore {
  /** Write blobs + manifest durably, then append CheckpointCommitted; resolves with that stored event. */
  commit(state: CheckpointState, meta: CommitMeta): Promise<LedgerEvent<CheckpointCommitted>>;
  /** Load and verify (SHA-256) one committed checkpoint; throws STORE_* when it does not verify. */
  load(checkpoint: string): Promise<CheckpointState>;
  /** The newest checkpoint of a run that verifies (falling back past bad ones), or null: the resume point. */
  loadNewestVerified(run: string): Promise<{ checkpoint: string; state: CheckpointState } | null>;
  /** Carry out a PruneIntended decision; resolves with the stored CheckpointPruned event, if any. */
  prune(checkpoint: string, intentSeq: number): Promise<LedgerEvent | undefined>;
  /** Carry out a BackupIntended decision; resolves with the stored BackupVerified event, if any. */
  backup(checkpoint: string, target: string, intentSeq: number): Promise<LedgerEvent | undefined>;
  /** Digest of the weights only (not optimizer or trainer state): equal digests mean bit-identical weights. */
  weightsDigest(state: CheckpointState): string;
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
