import type { Observable } from 'rxjs';

/**
 * One stored record. `seq` is the ledger's global order (1, 2, 3, ...; 0 means "before the first event").
 * `id` is unique across the ledger: appending an event whose id is already stored is a no-op that returns the
 * stored seq (idempotent retry). `v` is the schema version of `data` for this `type`; upcasters lift old
 * versions on read. `at` is the event time in epoch milliseconds (the only clock reducers may look at).
 */
export interface LedgerEvent<T = unknown> {
  seq: number;
  id: string;
  stream: string;
  type: string;
  v: number;
  at: number;
  data: T;
}

/**
 * What a caller appends: the ledger assigns `seq`, and `id`, `v` (1) and `at` (now) when absent. A generated id
 * is UUID-shaped (version nibble 8) and ends with the event's seq in 12 hex digits. Give your own id to make
 * a retry idempotent.
 */
export interface EventInput<T = unknown> {
  id?: string;
  stream: string;
  type: string;
  v?: number;
  at?: number;
  data: T;
}

export interface AppendOptions {
  /** The ledger's lastSeq the caller expects before this batch; a mismatch rejects with LEDGER_CONFLICT. */
  expectedSeq?: number;
  /** Resolve only after the batch (and every earlier non-durable batch) is fsynced. */
  durable?: boolean;
}

export interface AppendResult {
  /** The seq of each input event, in input order (the stored seq for an already-stored id). */
  seqs: number[];
  /** The ledger's lastSeq after the call. */
  lastSeq: number;
  /** How many inputs were already stored (idempotent retries) and so not written again. */
  duplicates: number;
  /**
   * Each input as stored, in input order: its ledger id, seq, `v`, `at` and data, upcast exactly as `read`
   * returns it. For an idempotent retry, the event stored first (not the retry's fields).
   */
  events: LedgerEvent[];
}

export interface ReadOptions {
  stream?: string;
  /** Inclusive. Default 1. */
  fromSeq?: number;
  /** Inclusive. Default: the lastSeq when the read started. */
  toSeq?: number;
  types?: readonly string[];
  /** Records fetched per `nextv` call. */
  batchSize?: number;
}

/** What `tail` emits: every stored event once, in seq order, with one caught-up marker after the replay. */
export type TailItem =
  | { kind: 'event'; event: LedgerEvent }
  | { kind: 'caught-up'; seq: number };

/**
 * A projection is a pure left fold over events. Its state must be plain data (objects, arrays, strings,
 * numbers, booleans, null) so it can be snapshotted with msgpack and compared with deep equality.
 * Changing `version` makes the ledger discard old snapshots and rebuild from events.
 */
export interface Projection<S = unknown> {
  name: string;
  version: number;
  init(): S;
  evolve(state: S, event: LedgerEvent): S;
}

/** Turns `data` of an event type at version `from` into version `from + 1`. */
export interface Upcaster {
  type: string;
  from: number;
  upcast(data: unknown): unknown;
}

export interface LedgerOptions {
  /** Projections kept up to date on every append and restored from snapshots on open. */
  projections?: readonly Projection<any>[];
  upcasters?: readonly Upcaster[];
  /** Write a snapshot of every projection once this many events were appended since the last one. */
  snapshotEvery?: number;
}

/** The append-only event ledger. Implemented on LevelDB (`openLedger`) and in memory (`openMemoryLedger`). */
export interface Ledger {
  /** Seq of the newest stored event; 0 when empty. */
  readonly lastSeq: number;
  readonly closed: boolean;
  append(events: readonly EventInput[], options?: AppendOptions): Promise<AppendResult>;
  read(options?: ReadOptions): AsyncIterable<LedgerEvent>;
  /** Replay from `fromSeq` (default 1), a caught-up marker, then live appends. No gap, no duplicate. */
  tail(fromSeq?: number): Observable<TailItem>;
  /** Current state of a registered projection (after every appended event). */
  state<S>(name: string): S;
  /**
   * Register a projection after open: restored from its newest snapshot when the stored version matches,
   * then caught up from the events after it; from then on kept current on every append and snapshotted.
   */
  register<S>(projection: Projection<S>): Promise<S>;
  /** Fold the projection over every stored event from seq 1 (ignores snapshots). */
  rebuild<S>(projection: Projection<S>): Promise<S>;
  /** Event by id, or undefined. */
  get(id: string): Promise<LedgerEvent | undefined>;
  close(): Promise<void>;
}
