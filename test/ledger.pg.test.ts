/**
 * The PostgreSQL ledger: the shared contract suite, then what only a shared ledger has — several handles
 * (connections, as separate processes would have) appending to one ledger, tails fed by LISTEN/NOTIFY, and a
 * server restart under a running tail and appender.
 */
import { firstValueFrom, filter, take, toArray, timeout, type Observable } from 'rxjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LedgerError, openPgLedger, type EventInput, type Ledger, type PgLedgerOptions, type TailItem } from '../ledger/index.js';
import { startPostgres } from './fixtures/postgres.js';
import { Teardown } from './fixtures/teardown.js';
import { ledgerContract, statsProjection } from './ledger.contract.js';

const server = await startPostgres();
let schemas = 0;
const freshSchema = (): string => `l_${++schemas}`;

ledgerContract('postgres', { open: (options) => openPgLedger(server.url, { ...options, schema: freshSchema() }), cleanup: async () => {} });

const test = suite('ledger on PostgreSQL');
// Every ledger a case opens is closed after it, passed or failed; then the server stops.
const teardown = new Teardown();
test.after.each(() => teardown.run());
test.after(() => server.stop());
const open = async (url: string, options: PgLedgerOptions = {}): Promise<Ledger> => teardown.close(await openPgLedger(url, options));

const events = (stream: string, from: number, count: number): EventInput[] =>
  Array.from({ length: count }, (_, i) => ({ stream, type: 'EpochEnded', data: { epoch: from + i } }));

async function collect(ledger: Ledger): Promise<{ seq: number; stream: string; epoch: number }[]> {
  const out = [];
  for await (const e of ledger.read()) out.push({ seq: e.seq, stream: e.stream, epoch: (e.data as { epoch: number }).epoch });
  return out;
}

const eventsOf = (source: Observable<TailItem>, count: number, ms = 20_000): Promise<number[]> =>
  firstValueFrom(source.pipe(filter((i) => i.kind === 'event'), take(count), toArray(), timeout(ms))).then((items) =>
    items.map((i) => (i.kind === 'event' ? i.event.seq : -1)),
  );

test('given three handles appending concurrently, when they settle, then seqs are gapless, each writer kept its order and projections agree', async () => {
  const schema = freshSchema();
  const writers = await Promise.all([1, 2, 3].map(() => open(server.url, { schema, projections: [statsProjection], snapshotEvery: 25 })));
  await Promise.all(writers.map(async (ledger, w) => {
    for (let i = 0; i < 30; i++) await ledger.append(events(`w${w}`, i * 2 + 1, 2), { durable: i % 5 === 0 });
  }));
  const reader = await open(server.url, { schema, projections: [statsProjection], snapshotEvery: 25 });
  const stored = await collect(reader);
  assert.equal(stored.map((e) => e.seq), Array.from({ length: 180 }, (_, i) => i + 1));
  for (const w of [0, 1, 2]) assert.equal(stored.filter((e) => e.stream === `w${w}`).map((e) => e.epoch), Array.from({ length: 60 }, (_, i) => i + 1));
  const expected = await reader.rebuild(statsProjection);
  assert.equal(reader.state<{ byStream: Record<string, number> }>('stats').byStream, { w0: 60, w1: 60, w2: 60 });
  // Each writer folded the others' events too (caught up before its own appends or by NOTIFY).
  for (const ledger of writers) {
    await until(() => ledger.lastSeq === 180);
    assert.equal(ledger.state('stats'), expected);
  }
  await Promise.all([...writers, reader].map((l) => l.close()));
});

test('given an id appended by one handle, when another handle appends it again, then it is a duplicate; expectedSeq sees the other writer', async () => {
  const schema = freshSchema();
  const [a, b] = await Promise.all([open(server.url, { schema }), open(server.url, { schema })]);
  await a.append([{ id: 'decision-1', stream: 's', type: 'SaveDecided', data: 1 }], { durable: true });
  const first = await a.get('decision-1');
  const retry = await b.append([{ id: 'decision-1', stream: 's', type: 'SaveDecided', data: 1 }], { durable: true });
  assert.equal(retry, { seqs: [1], lastSeq: 1, duplicates: 1, events: [first] }, 'the event stored first comes back');
  await a.append(events('s', 2, 1));
  const error = await b.append(events('s', 3, 1), { expectedSeq: 1 }).then(() => undefined, (e: unknown) => e);
  assert.instance(error, LedgerError);
  assert.equal((error as LedgerError).details, { expected: 1, actual: 2 });
  await Promise.all([a.close(), b.close()]);
});

test('given a tail in one handle, when another handle appends while it replays, then it sees every seq once, in order, via NOTIFY', async () => {
  const schema = freshSchema();
  const writer = await open(server.url, { schema });
  await writer.append(events('s', 1, 500));
  const reader = await open(server.url, { schema });
  const seen = eventsOf(reader.tail(1), 800);
  for (let i = 0; i < 30; i++) await writer.append(events('s', 501 + i * 10, 10));
  assert.equal(await seen, Array.from({ length: 800 }, (_, i) => i + 1));
  await Promise.all([writer.close(), reader.close()]);
});

test('given a live tail and an appender, when the server restarts, then appends wait for it and the tail has no gap and no duplicate', async () => {
  const schema = freshSchema();
  const writer = await open(server.url, { schema });
  const reader = await open(server.url, { schema });
  await writer.append(events('s', 1, 10), { durable: true });
  const seen = eventsOf(reader.tail(1), 40, 60_000);
  await until(() => reader.lastSeq === 10);
  server.restart();
  // The appender's connection died with the server: the append reconnects and goes through.
  await writer.append(events('s', 11, 10), { durable: true });
  await writer.append(events('s', 21, 20));
  assert.equal(await seen, Array.from({ length: 40 }, (_, i) => i + 1));
  assert.equal((await collect(writer)).map((e) => e.seq), Array.from({ length: 40 }, (_, i) => i + 1));
  await Promise.all([writer.close(), reader.close()]);
});

test('given a wrong database or a dead port, when opened, then LEDGER_INVALID / LEDGER_IO name the server and what to check', async () => {
  const missingDb = await open(server.url.replace(/\/postgres$/, '/nope')).then(() => undefined, (e: unknown) => e as LedgerError);
  assert.is(missingDb?.code, 'LEDGER_INVALID');
  assert.match(missingDb?.message ?? '', /no such database/);
  const dead = await open('postgres://postgres@127.0.0.1:1/postgres').then(() => undefined, (e: unknown) => e as LedgerError);
  assert.is(dead?.code, 'LEDGER_IO');
  assert.match(dead?.message ?? '', /cannot reach PostgreSQL at 127\.0\.0\.1:1\/postgres/);
  const badSchema = await open(server.url, { schema: 'Robert"; drop' }).then(() => undefined, (e: unknown) => e as LedgerError);
  assert.is(badSchema?.code, 'LEDGER_INVALID');
});

test.run();

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
