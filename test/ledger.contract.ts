/**
 * The one contract every Ledger backend must pass. test/ledger.memory.test.ts and test/ledger.level.test.ts
 * each call `ledgerContract` with a factory; nothing here knows which backend it runs on.
 */
import { firstValueFrom, filter, timeout, toArray, take, type Observable } from 'rxjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LedgerError, type EventInput, type Ledger, type LedgerEvent, type LedgerOptions, type Projection, type TailItem } from '../ledger/index.js';
import { Teardown } from './fixtures/teardown.js';

export interface ContractBackend {
  /** Opens a fresh, empty ledger with these options. */
  open(options?: LedgerOptions): Promise<Ledger>;
  /** Removes whatever the opened ledgers left behind (temp directories). */
  cleanup(): Promise<void>;
}

const event = (n: number, extra: Partial<EventInput> = {}): EventInput => ({ stream: 'run-1', type: 'EpochEnded', data: { epoch: n, loss: 1 / n }, ...extra });
const events = (from: number, count: number, extra: Partial<EventInput> = {}): EventInput[] => Array.from({ length: count }, (_, i) => event(from + i, extra));

/** The counting part of an AppendResult (its `events` are checked by their own case). */
const counts = (r: { seqs: number[]; lastSeq: number; duplicates: number }) => ({ seqs: r.seqs, lastSeq: r.lastSeq, duplicates: r.duplicates });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<LedgerError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    assert.instance(error, LedgerError);
    return error as LedgerError;
  }
  return assert.unreachable('expected a LedgerError, got success') as never;
}

/** Counts events per stream and sums `data.epoch`: a projection with a non-trivial, order-dependent state. */
export const statsProjection: Projection<{ byStream: Record<string, number>; epochSum: number; order: number[] }> = {
  name: 'stats',
  version: 1,
  init: () => ({ byStream: {}, epochSum: 0, order: [] }),
  evolve: (state, e) => ({
    byStream: { ...state.byStream, [e.stream]: (state.byStream[e.stream] ?? 0) + 1 },
    epochSum: state.epochSum + ((e.data as { epoch?: number })?.epoch ?? 0),
    order: [...state.order.slice(-4), e.seq],
  }),
};

const seqsOf = (items: TailItem[]): (number | string)[] => items.map((item) => (item.kind === 'event' ? item.event.seq : `caught-up@${item.seq}`));

export function ledgerContract(name: string, backend: ContractBackend): void {
  const test = suite(`ledger contract (${name})`);
  // Every ledger a case opens is closed after it, passed or failed.
  const teardown = new Teardown();
  test.after.each(() => teardown.run());
  const open = async (options?: LedgerOptions): Promise<Ledger> => teardown.close(await backend.open(options));
  test.after(() => backend.cleanup());

  test('given an empty ledger, when a batch is appended, then seqs are 1..n and read returns full envelopes', async () => {
    const ledger = await open();
    assert.is(ledger.lastSeq, 0);
    const result = await ledger.append([event(1, { id: 'a' }), event(2, { v: 3, at: 1234 })]);
    assert.equal(counts(result), { seqs: [1, 2], lastSeq: 2, duplicates: 0 });
    const [first, second] = await collect(ledger.read());
    assert.equal(first, { seq: 1, id: 'a', stream: 'run-1', type: 'EpochEnded', v: 1, at: first.at, data: { epoch: 1, loss: 1 } });
    assert.ok(Math.abs(first.at - Date.now()) < 5000, 'at defaults to now');
    assert.is(second.v, 3);
    assert.is(second.at, 1234);
    assert.match(second.id, /^[0-9a-f-]{36}$/);
    assert.is(ledger.lastSeq, 2);
    await ledger.close();
  });

  test('given a batch with a retried id, when appended, then result.events are the envelopes as stored, equal to what read returns', async () => {
    const ledger = await open();
    const first = await ledger.append([event(1, { id: 'kept', at: 111 })], { durable: true });
    assert.equal(first.events, await collect(ledger.read()));
    const result = await ledger.append([event(2), event(1, { id: 'kept', at: 999, data: { retry: true } }), event(3, { v: 2, at: 77 })]);
    const stored = await collect(ledger.read());
    assert.equal(result.events, [stored[1], stored[0], stored[2]], 'input order; the retry answers with the event stored first');
    assert.is(result.events[1].at, 111);
    assert.equal(result.events[1].data, { epoch: 1, loss: 1 });
    assert.match(result.events[0].id, /^[0-9a-f-]{36}$/);
    assert.equal(result.events.map((e) => e.seq), result.seqs);
    await ledger.close();
  });

  test('given events on two streams, when read with stream/types/range/batchSize, then only matching events come back in order', async () => {
    const ledger = await open();
    for (let i = 1; i <= 30; i++) await ledger.append([event(i, { stream: i % 2 ? 'odd' : 'even', type: i % 3 ? 'A' : 'B' })]);
    assert.equal((await collect(ledger.read({ stream: 'odd', batchSize: 4 }))).map((e) => e.seq), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29]);
    assert.equal((await collect(ledger.read({ types: ['B'], fromSeq: 10, toSeq: 20 }))).map((e) => e.seq), [12, 15, 18]);
    assert.equal((await collect(ledger.read({ fromSeq: 28, batchSize: 1 }))).map((e) => e.seq), [28, 29, 30]);
    assert.equal(await collect(ledger.read({ fromSeq: 31 })), []);
    await ledger.close();
  });

  test('given a read abandoned after a few events, when read again, then the ledger still reads from the start', async () => {
    const ledger = await open();
    await ledger.append(events(1, 50));
    const firstThree: number[] = [];
    for await (const e of ledger.read({ batchSize: 8 })) {
      firstThree.push(e.seq);
      if (firstThree.length === 3) break;
    }
    assert.equal(firstThree, [1, 2, 3]);
    const appendedWhileReading: number[] = [];
    for await (const e of ledger.read({ fromSeq: 49 })) {
      appendedWhileReading.push(e.seq);
      if (e.seq === 49) await ledger.append([event(51)]);
    }
    assert.equal(appendedWhileReading, [49, 50], 'toSeq defaults to lastSeq when the read started');
    await ledger.close();
  });

  test('given stored ids, when the same batch is retried, then the stored seqs come back and nothing is written again', async () => {
    const ledger = await open();
    const batch = [event(1, { id: 'e-1' }), event(2, { id: 'e-2' })];
    await ledger.append(batch);
    await ledger.append([event(3)]);
    const retry = await ledger.append(batch, { durable: true });
    assert.equal(counts(retry), { seqs: [1, 2], lastSeq: 3, duplicates: 2 });
    const mixed = await ledger.append([event(1, { id: 'e-2' }), event(4, { id: 'e-4' }), event(4, { id: 'e-4' })]);
    assert.equal(counts(mixed), { seqs: [2, 4, 4], lastSeq: 4, duplicates: 2 });
    assert.equal((await collect(ledger.read())).map((e) => e.id).slice(0, 2), ['e-1', 'e-2']);
    assert.is((await collect(ledger.read())).length, 4);
    assert.is((await ledger.get('e-4'))?.seq, 4);
    assert.is(await ledger.get('nope'), undefined);
    await ledger.close();
  });

  test('given events stored with generated ids, when one is read back and appended again, then it is a duplicate and get() finds it', async () => {
    const ledger = await open();
    await ledger.append(events(1, 3));
    const [, second] = await collect(ledger.read());
    assert.is((await ledger.get(second.id))?.seq, 2);
    assert.equal(counts(await ledger.append([{ ...event(9), id: second.id }])), { seqs: [2], lastSeq: 3, duplicates: 1 });
    // A caller id shaped like a generated one but naming another seq is indexed like any other id.
    const lookalike = second.id.slice(0, 24) + '000000000063';
    assert.equal(counts(await ledger.append([{ ...event(4), id: lookalike }])), { seqs: [4], lastSeq: 4, duplicates: 0 });
    assert.is((await ledger.get(lookalike))?.seq, 4);
    assert.equal(counts(await ledger.append([{ ...event(4), id: lookalike }])), { seqs: [4], lastSeq: 4, duplicates: 1 });
    const [first] = await collect(ledger.read({ toSeq: 1 }));
    const impostor = (first.id.startsWith('0') ? '1' : '0') + first.id.slice(1);
    assert.is(await ledger.get(impostor), undefined, 'names seq 1, but seq 1 has another id');
    await ledger.close();
  });

  test('given a ledger at seq 2, when appending with a wrong expectedSeq, then LEDGER_CONFLICT names expected and actual and nothing is written', async () => {
    const ledger = await open();
    await ledger.append(events(1, 2));
    const error = await rejection(ledger.append([event(3)], { expectedSeq: 1 }));
    assert.is(error.code, 'LEDGER_CONFLICT');
    assert.equal(error.details, { expected: 1, actual: 2 });
    assert.is(ledger.lastSeq, 2);
    assert.equal(counts(await ledger.append([event(3)], { expectedSeq: 2 })), { seqs: [3], lastSeq: 3, duplicates: 0 });
    // An exact retry of an already-stored batch is idempotent even though its expectedSeq is now stale.
    await ledger.append([event(4, { id: 'x' })], { expectedSeq: 3 });
    assert.equal(counts(await ledger.append([event(4, { id: 'x' })], { expectedSeq: 3 })), { seqs: [4], lastSeq: 4, duplicates: 1 });
    await ledger.close();
  });

  test('given many appends started without awaiting, when they settle, then they were applied in call order', async () => {
    const ledger = await open();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.append(events(i * 3, 3, { id: undefined, data: { call: i } }), { durable: i % 10 === 0 })));
    assert.equal(results.map((r) => r.seqs[0]), Array.from({ length: 40 }, (_, i) => i * 3 + 1));
    const stored = await collect(ledger.read());
    assert.equal(stored.map((e) => (e.data as { call: number }).call), Array.from({ length: 120 }, (_, i) => Math.floor(i / 3)));
    await ledger.close();
  });

  test('given malformed input, when appended, then LEDGER_INVALID and the ledger is unchanged', async () => {
    const ledger = await open();
    assert.is((await rejection(ledger.append([{ stream: '', type: 'A', data: 1 }]))).code, 'LEDGER_INVALID');
    assert.is((await rejection(ledger.append([{ stream: 's', type: 'A', data: 1, v: 0 }]))).code, 'LEDGER_INVALID');
    assert.is((await rejection(ledger.append([event(1)], { expectedSeq: -1 }))).code, 'LEDGER_INVALID');
    assert.is((await rejection(() => ledger.state('missing'))).code, 'LEDGER_INVALID');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.is((await rejection(ledger.append([event(1), { stream: 's', type: 'A', data: cyclic }]))).code, 'LEDGER_INVALID');
    assert.is(ledger.lastSeq, 0);
    await ledger.close();
  });

  test('given stored events, when tailed from a seq, then replay, one caught-up marker, then live appends follow', async () => {
    const ledger = await open();
    await ledger.append(events(1, 5));
    const items: TailItem[] = [];
    const done = new Promise<void>((resolve) => ledger.tail(3).subscribe({ next: (item) => items.push(item), complete: resolve }));
    await until(() => items.some((item) => item.kind === 'caught-up'));
    await ledger.append(events(6, 2));
    await ledger.close();
    await done;
    assert.equal(seqsOf(items), [3, 4, 5, 'caught-up@5', 6, 7]);
  });

  test('given a tail from beyond lastSeq, when events arrive, then only seqs >= fromSeq are emitted', async () => {
    const ledger = await open();
    await ledger.append(events(1, 2));
    const first = firstValueFrom(ledger.tail(5).pipe(take(3), toArray()));
    await ledger.append(events(3, 4));
    assert.equal(seqsOf(await first), ['caught-up@2', 5, 6]);
    await ledger.close();
  });

  test('given appends racing with a replay, when tailed, then every seq is seen exactly once and in order', async () => {
    const ledger = await open();
    for (let i = 0; i < 4; i++) await ledger.append(events(i * 500, 500));
    const total = 2000 + 150 * 2;
    const seen = firstValueFrom(ledger.tail(1).pipe(timeout(5000), filter((item) => item.kind === 'event'), take(total), toArray()) as Observable<TailItem[]>);
    // Appends start on the same tick as the subscription, so they land while the replay is still reading.
    const appends = Array.from({ length: 150 }, (_, i) => ledger.append(events(2000 + i * 2, 2)));
    const markers = firstValueFrom(ledger.tail(1).pipe(filter((item) => item.kind === 'caught-up'), toArray()), { defaultValue: [] });
    await Promise.all(appends);
    const seqs = (await seen).map((item) => (item.kind === 'event' ? item.event.seq : -1));
    assert.equal(seqs, Array.from({ length: total }, (_, i) => i + 1));
    await ledger.close();
    assert.is((await markers).length, 1);
  });

  test('given a projection, when events are appended, then state is current and rebuild equals the incremental state', async () => {
    const ledger = await open({ projections: [statsProjection], snapshotEvery: 7 });
    for (let i = 1; i <= 20; i++) await ledger.append(events(i * 10, (i % 4) + 1, { stream: `run-${i % 3}` }));
    const incremental = ledger.state<typeof statsProjection extends Projection<infer S> ? S : never>('stats');
    assert.is(Object.values(incremental.byStream).reduce((a, b) => a + b, 0), ledger.lastSeq);
    assert.equal(await ledger.rebuild(statsProjection), incremental);
    await ledger.close();
  });

  test('given events before registration, when a projection is registered later, then its state covers them and keeps up', async () => {
    const ledger = await open({ snapshotEvery: 5 });
    await ledger.append(events(1, 12));
    const registered = await ledger.register(statsProjection);
    assert.is(registered.epochSum, 78);
    await ledger.append([event(100)]);
    assert.is(ledger.state<{ epochSum: number }>('stats').epochSum, 178);
    assert.equal(await ledger.register(statsProjection), ledger.state('stats'));
    assert.is((await rejection(ledger.register({ ...statsProjection, version: 2 }))).code, 'LEDGER_INVALID');
    await ledger.close();
  });

  test('given v1 events and an upcaster chain, when read, got, tailed and projected, then they arrive at the current version', async () => {
    const upcasters = [
      { type: 'Saved', from: 1, upcast: (d: any) => ({ path: d.file }) },
      { type: 'Saved', from: 2, upcast: (d: any) => ({ ...d, tags: [] }) },
    ];
    const lastPath: Projection<string | null> = { name: 'last', version: 1, init: () => null, evolve: (_s, e) => `${e.v}:${(e.data as any).path}` };
    const ledger = await open({ upcasters, projections: [lastPath] });
    await ledger.append([{ id: 'old', stream: 's', type: 'Saved', v: 1, data: { file: 'a.bin' } }, { stream: 's', type: 'Saved', v: 3, data: { path: 'b', tags: ['x'] } }]);
    const stored = await collect(ledger.read());
    assert.equal(stored.map((e) => [e.v, e.data]), [[3, { path: 'a.bin', tags: [] }], [3, { path: 'b', tags: ['x'] }]]);
    assert.equal((await ledger.get('old'))?.data, { path: 'a.bin', tags: [] });
    const tailed = await firstValueFrom(ledger.tail(1).pipe(take(2), toArray()));
    assert.equal(tailed.map((item) => item.kind === 'event' && item.event.v), [3, 3]);
    assert.is(ledger.state('last'), '3:b');
    await ledger.append([{ stream: 's', type: 'Saved', v: 1, data: { file: 'c' } }]);
    assert.is(ledger.state('last'), '3:c');
    await ledger.close();
  });

  test('given a projection whose evolve throws on one event, when that event is appended, then LEDGER_INVALID and nothing of the batch is stored', async () => {
    const picky: Projection<number> = {
      name: 'picky', version: 1, init: () => 0,
      evolve: (state, e) => {
        if ((e.data as { epoch?: number }).epoch === 13) throw new Error('unlucky');
        return state + 1;
      },
    };
    const ledger = await open({ projections: [picky] });
    await ledger.append(events(1, 3));
    const error = await rejection(ledger.append(events(12, 3)));
    assert.is(error.code, 'LEDGER_INVALID');
    assert.is(error.details.seq, 5);
    assert.is((error.cause as Error).message, 'unlucky');
    assert.is(ledger.lastSeq, 3);
    assert.is(ledger.state('picky'), 3);
    assert.is((await collect(ledger.read())).length, 3);
    await ledger.close();
  });

  test('given two upcasters for the same type and version, when opened, then LEDGER_INVALID', async () => {
    const twice = [{ type: 'T', from: 1, upcast: (d: unknown) => d }, { type: 'T', from: 1, upcast: (d: unknown) => d }];
    assert.is((await rejection(open({ upcasters: twice }))).code, 'LEDGER_INVALID');
  });

  test('given a closed ledger, when used, then LEDGER_CLOSED, close is idempotent and pending appends finished first', async () => {
    const ledger = await open();
    const pending = ledger.append(events(1, 3), { durable: true });
    const closing = ledger.close();
    assert.equal((await pending).seqs, [1, 2, 3]);
    await closing;
    await ledger.close();
    assert.ok(ledger.closed);
    assert.is((await rejection(ledger.append([event(4)]))).code, 'LEDGER_CLOSED');
    assert.is((await rejection(() => ledger.read())).code, 'LEDGER_CLOSED');
    assert.is((await rejection(() => ledger.tail())).code, 'LEDGER_CLOSED');
    assert.is((await rejection(ledger.get('x'))).code, 'LEDGER_CLOSED');
    assert.is((await rejection(ledger.register(statsProjection))).code, 'LEDGER_CLOSED');
  });

  test.run();
}

/** Waits (polling each tick) until `condition` holds, failing after 5 s. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export type { LedgerEvent };
