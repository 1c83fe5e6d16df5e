import { Subject, type Observable } from 'rxjs';
import { LedgerError } from '../errors.js';
import type {
  AppendOptions, AppendResult, EventInput, Ledger, LedgerEvent, LedgerOptions, Projection, ReadOptions, TailItem,
} from '../types.js';
import { flattenChunks } from './chunked-iterable.js';
import { decodeEvent, decodeSnapshot, encodeEventChecked, encodeSnapshot } from './codec.js';
import { planAppend } from './append-plan.js';
import { embeddedSeq } from './ids.js';
import { ProjectionSet, foldEvents } from './projection-set.js';
import { StorageBehind, type LedgerStorage } from './storage.js';
import { tailLedger } from './tail.js';
import { upcasterChain, type UpcastEvent } from './upcast.js';
import { validateAppend } from './validate.js';

export const DEFAULT_SNAPSHOT_EVERY = 1000;
const DEFAULT_READ_BATCH = 1000;

/**
 * The one implementation of the Ledger contract, on top of a byte-level storage adapter (LevelDB or memory).
 * Appends and registrations run one at a time, in call order, through a promise queue.
 * @example const ledger = await LedgerCore.open(new MemoryStorage(), {})
 */
export class LedgerCore implements Ledger {
  private committedSeq: number;
  private isClosed = false;
  /** True while a non-durable write has not yet been covered by an fsync. */
  private unsynced = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly live = new Subject<LedgerEvent>();
  private readonly projections: ProjectionSet;
  private readonly upcast: UpcastEvent;
  private readonly snapshotEvery: number;

  private constructor(private readonly storage: LedgerStorage, options: LedgerOptions, lastSeq: number) {
    this.committedSeq = lastSeq;
    this.upcast = upcasterChain(options.upcasters);
    this.snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    this.projections = new ProjectionSet(this.snapshotEvery);
  }

  /** Opens a ledger over `storage`, restoring every projection in `options`; closes the storage on failure. */
  static async open(storage: LedgerStorage, options: LedgerOptions = {}): Promise<LedgerCore> {
    try {
      const every = options.snapshotEvery;
      if (every !== undefined && !(Number.isSafeInteger(every) && every >= 1)) {
        throw new LedgerError('LEDGER_INVALID', 'snapshotEvery must be an integer >= 1; fix the ledger options', { details: { snapshotEvery: every } });
      }
      const core = new LedgerCore(storage, options, await storage.lastSeq());
      for (const projection of options.projections ?? []) await core.register(projection);
      // A shared storage (PostgreSQL) reports appends of other processes: fold them in, in order, like our own.
      storage.watch?.((lastSeq) => {
        if (!core.isClosed && lastSeq > core.committedSeq) core.enqueue(() => core.catchUp(lastSeq)).catch(() => undefined);
      });
      return core;
    } catch (error) {
      await storage.close().catch(() => {});
      throw error;
    }
  }

  get lastSeq(): number {
    return this.committedSeq;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  append(events: readonly EventInput[], options: AppendOptions = {}): Promise<AppendResult> {
    try {
      this.assertOpen();
      validateAppend(events, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(() => this.appendCatchingUp(events, options));
  }

  /** Appends; when a shared storage holds events this handle has not seen, folds them in and plans again. */
  private async appendCatchingUp(events: readonly EventInput[], options: AppendOptions): Promise<AppendResult> {
    for (;;) {
      try {
        return await this.appendNow(events, options);
      } catch (error) {
        if (!(error instanceof StorageBehind)) throw error;
        await this.catchUp();
      }
    }
  }

  /**
   * Reads the records other writers stored after `committedSeq`, folds them into the projections and emits them
   * to tails, exactly as if appended here. A storage behind us lost events it had acknowledged (a server crash
   * after non-durable appends): LEDGER_IO, never a silent rewind.
   */
  private async catchUp(known?: number): Promise<void> {
    // A notified lastSeq saves asking the storage; it is a committed seq, so reading up to it is safe.
    if (known !== undefined && known <= this.committedSeq) return;
    const target = known ?? (await this.storage.lastSeq().catch((error) => this.fail(error, 'read')));
    if (target < this.committedSeq) {
      throw new LedgerError('LEDGER_IO', `ledger ${this.storage.location} lost the events after seq ${target} (this handle saw seq ${this.committedSeq}); reopen it and resume`, {
        details: { location: this.storage.location, stored: target, seen: this.committedSeq },
      });
    }
    for await (const chunk of this.eventChunks(this.committedSeq + 1, target, DEFAULT_READ_BATCH, undefined, undefined, target)) {
      const last = chunk[chunk.length - 1].seq;
      // Snapshots are written by appenders; folding others' events only advances the states.
      this.projections.commit({ ...this.projections.advance(chunk, last), snapshots: [] });
      this.committedSeq = last;
      if (this.live.observed) for (const event of chunk) this.live.next(event);
    }
  }

  read(options: ReadOptions = {}): AsyncIterable<LedgerEvent> {
    this.assertOpen();
    const { stream, types } = options;
    const typeSet = types === undefined ? undefined : new Set(types);
    const batchSize = options.batchSize ?? DEFAULT_READ_BATCH;
    // toSeq defaults to lastSeq when iteration starts, so appends made while reading are not included.
    return flattenChunks({
      [Symbol.asyncIterator]: () =>
        this.eventChunks(options.fromSeq ?? 1, options.toSeq ?? this.committedSeq, batchSize, stream, typeSet)[Symbol.asyncIterator](),
    });
  }

  tail(fromSeq = 1): Observable<TailItem> {
    this.assertOpen();
    return tailLedger(
      {
        live: this.live,
        lastSeq: () => this.committedSeq,
        readRange: (from, to) => flattenChunks(this.eventChunks(from, to, DEFAULT_READ_BATCH)),
        closed: () => this.isClosed,
      },
      Math.max(1, fromSeq),
    );
  }

  state<S>(name: string): S {
    this.assertOpen();
    return this.projections.state<S>(name);
  }

  register<S>(projection: Projection<S>): Promise<S> {
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(() => this.registerNow(projection));
  }

  async rebuild<S>(projection: Projection<S>): Promise<S> {
    this.assertOpen();
    let state = projection.init();
    for await (const chunk of this.eventChunks(1, this.committedSeq, DEFAULT_READ_BATCH)) state = foldEvents(projection, state, chunk);
    return state;
  }

  async get(id: string): Promise<LedgerEvent | undefined> {
    this.assertOpen();
    const [seq] = await this.seqsOfIds([id]);
    if (seq === undefined) return undefined;
    const bytes = await this.storage.record(seq).catch((error) => this.fail(error, 'read'));
    if (bytes === undefined) {
      throw new LedgerError('LEDGER_CORRUPT', `id ${id} points at seq ${seq}, which is missing; restore the ledger from a backup`, { details: { seq, id } });
    }
    return this.upcast(decodeEvent(bytes, seq));
  }

  /** Stored seq of each id: a generated id through the record it names, any other through the id index. */
  private async seqsOfIds(ids: readonly string[]): Promise<(number | undefined)[]> {
    const seqs: (number | undefined)[] = new Array(ids.length).fill(undefined);
    const viaIndex: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const seq = embeddedSeq(ids[i]);
      const bytes = seq !== undefined && seq >= 1 && seq <= this.committedSeq ? await this.storage.record(seq).catch((e) => this.fail(e, 'read')) : undefined;
      if (bytes !== undefined && decodeEvent(bytes, seq as number).id === ids[i]) seqs[i] = seq;
      else viaIndex.push(i);
    }
    const indexed = await this.storage.seqsOfIds(viaIndex.map((i) => ids[i])).catch((error) => this.fail(error, 'read'));
    viaIndex.forEach((i, n) => (seqs[i] = indexed[n]));
    return seqs;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.queue;
    this.live.complete();
    try {
      await this.syncIfNeeded();
    } finally {
      await this.storage.close();
    }
  }

  private async syncIfNeeded(): Promise<void> {
    if (!this.unsynced) return;
    await this.storage.sync().catch((error) => this.fail(error, 'fsync'));
    this.unsynced = false;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.isClosed) throw this.closedError();
  }

  private closedError(cause?: unknown): LedgerError {
    return new LedgerError('LEDGER_CLOSED', `ledger ${this.storage.location} is closed; open it again to use it`, {
      cause,
      details: { location: this.storage.location },
    });
  }

  /** Rethrows a storage failure as a LedgerError: LEDGER_CLOSED when closed under it, else LEDGER_IO. */
  private fail(error: unknown, doing: 'read' | 'write to' | 'fsync'): never {
    if (error instanceof LedgerError || error instanceof StorageBehind) throw error;
    if (this.isClosed && doing === 'read') throw this.closedError(error);
    throw new LedgerError('LEDGER_IO', `could not ${doing} ledger ${this.storage.location}; check the disk, free space and permissions`, {
      cause: error,
      details: { location: this.storage.location },
    });
  }

  private async appendNow(inputs: readonly EventInput[], options: AppendOptions): Promise<AppendResult> {
    const givenIds = inputs.filter((input) => input.id !== undefined).map((input) => input.id as string);
    const storedSeqs = await this.seqsOfIds(givenIds);
    // Stored by another writer after this handle's lastSeq (shared storage): catch up first, then plan.
    if (storedSeqs.some((seq) => seq !== undefined && seq > this.committedSeq)) throw new StorageBehind(this.committedSeq);
    const stored = new Map<string, number>();
    givenIds.forEach((id, index) => storedSeqs[index] !== undefined && stored.set(id, storedSeqs[index] as number));
    const { seqs, fresh, indexIds, duplicates } = planAppend(inputs, stored, this.committedSeq, Date.now());
    const seq = this.committedSeq + fresh.length;
    if (fresh.length === 0) {
      // A durable retry of a batch first written non-durably must still leave it durable.
      if (options.durable === true) await this.syncIfNeeded();
      return { seqs, lastSeq: this.committedSeq, duplicates, events: await this.storedEvents(seqs, []) };
    }

    const { expectedSeq } = options;
    if (expectedSeq !== undefined && expectedSeq !== this.committedSeq) {
      throw new LedgerError(
        'LEDGER_CONFLICT',
        `expected the ledger at seq ${expectedSeq} but it is at seq ${this.committedSeq}; re-read and decide again`,
        { details: { expected: expectedSeq, actual: this.committedSeq } },
      );
    }

    const records = fresh.map((event, i) => ({ seq: event.seq, id: event.id, indexId: indexIds[i], bytes: encodeEventChecked(event) }));
    // Upcast before writing: a throwing upcaster must reject the append before anything is stored.
    const current = fresh.map(this.upcast);
    const pending = this.projections.advance(current, seq);
    await this.storage.write({ baseSeq: this.committedSeq, records, snapshots: pending.snapshots }, options.durable === true).catch((error) => this.fail(error, 'write to'));
    this.unsynced = options.durable !== true;
    this.committedSeq = seq;
    this.projections.commit(pending);
    if (this.live.observed) for (const event of current) this.live.next(event);
    return { seqs, lastSeq: seq, duplicates, events: duplicates === 0 ? current : await this.storedEvents(seqs, current) };
  }

  /** The stored envelope of each seq: from this batch's `written` events, else read back (an idempotent retry). */
  private async storedEvents(seqs: readonly number[], written: readonly LedgerEvent[]): Promise<LedgerEvent[]> {
    const bySeq = new Map(written.map((event) => [event.seq, event]));
    const events: LedgerEvent[] = [];
    for (const seq of seqs) {
      let event = bySeq.get(seq);
      if (event === undefined) {
        const bytes = await this.storage.record(seq).catch((error) => this.fail(error, 'read'));
        if (bytes === undefined) throw missingRecord(seq);
        event = this.upcast(decodeEvent(bytes, seq));
        bySeq.set(seq, event);
      }
      events.push(event);
    }
    return events;
  }

  private async registerNow<S>(projection: Projection<S>): Promise<S> {
    if (this.projections.has(projection.name)) {
      if (this.projections.version(projection.name) === projection.version) return this.projections.state<S>(projection.name);
      throw new LedgerError('LEDGER_INVALID', `projection "${projection.name}" is already registered with another version; register it once`, {
        details: { name: projection.name, version: projection.version },
      });
    }
    const bytes = await this.storage.snapshot(projection.name).catch((error) => this.fail(error, 'read'));
    const snapshot = bytes === undefined ? undefined : decodeSnapshot(bytes);
    const usable = snapshot !== undefined && snapshot.name === projection.name && snapshot.version === projection.version && snapshot.seq <= this.committedSeq;
    let state = usable ? (snapshot.state as S) : projection.init();
    let snapshotSeq = usable ? snapshot.seq : 0;
    for await (const chunk of this.eventChunks(snapshotSeq + 1, this.committedSeq, DEFAULT_READ_BATCH)) state = foldEvents(projection, state, chunk);
    if (this.committedSeq - snapshotSeq >= this.snapshotEvery) {
      // Caught up over many events (a new or changed projection): store the result so the next open is fast.
      const record = { name: projection.name, version: projection.version, seq: this.committedSeq, state };
      const snapshots = [{ name: projection.name, bytes: encodeSnapshot(record) }];
      await this.storage.write({ baseSeq: this.committedSeq, records: [], snapshots }, false).catch((error) => this.fail(error, 'write to'));
      this.unsynced = true;
      snapshotSeq = this.committedSeq;
    }
    this.projections.add(projection, state, snapshotSeq);
    return state;
  }

  /** Decoded, upcast, filtered events in seq order, a storage chunk at a time; a missing seq is LEDGER_CORRUPT. */
  private async *eventChunks(
    fromSeq: number, toSeq: number, batchSize: number, stream?: string, types?: Set<string>, known = this.committedSeq,
  ): AsyncGenerator<LedgerEvent[]> {
    let expected = Math.max(1, fromSeq);
    const end = Math.min(toSeq, known);
    const records = this.storage.scan(expected, end, Math.max(1, batchSize))[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await records.next().catch((error) => this.fail(error, 'read'));
        if (next.done) break;
        const chunk: LedgerEvent[] = [];
        for (const { seq, bytes } of next.value) {
          if (seq !== expected) throw missingRecord(expected);
          expected++;
          const event = decodeEvent(bytes, seq);
          if (stream !== undefined && event.stream !== stream) continue;
          if (types !== undefined && !types.has(event.type)) continue;
          chunk.push(this.upcast(event));
        }
        if (chunk.length > 0) yield chunk;
      }
      if (expected <= end) throw missingRecord(expected);
    } finally {
      await records.return?.(undefined).catch(() => undefined);
    }
  }
}

function missingRecord(seq: number): LedgerError {
  return new LedgerError('LEDGER_CORRUPT', `ledger record at seq ${seq} is missing; restore the ledger from a backup`, { details: { seq } });
}
