import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLedger } from '../ledger/index.js';
import type { Ledger, LedgerEvent } from '../ledger/types.js';
import { followEvents, startOwnerServer, type OwnerServer } from '../src/server/index.js';
import { CkptError } from '../src/errors.js';
import { fillLedger, runBatches } from './server.fixture.js';
import { caughtUp, collectSse, eventSeqs } from './server.helpers.js';

let dir: string;
let ledger: Ledger;
let server: OwnerServer;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-server-sse-'));
  ledger = await openLedger(join(dir, 'ledger'));
  await fillLedger(ledger, { epochs: 6, crashAfter: 3 });
  server = await startOwnerServer({ dir, ledger }, { heartbeatMs: 15_000 });
});

test.after.each(async () => {
  await server.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

test('given a filled ledger, when a client streams from seq 1, then every event arrives once with id = seq, then caught-up', async () => {
  const last = ledger.lastSeq;
  const { status, messages } = await collectSse(server.url, '/api/events?from=1', caughtUp);
  assert.is(status, 200);
  assert.equal(eventSeqs(messages), range(1, last));
  for (const m of messages.filter((x) => x.event === 'message')) assert.is((JSON.parse(m.data) as LedgerEvent).seq, Number(m.id));
  const marker = messages.find((m) => m.event === 'caught-up')!;
  assert.is(JSON.parse(marker.data).seq, last);
  assert.is(messages.indexOf(marker), last, 'caught-up comes right after the replay');
});

test('given a client that saw events up to k, when it reconnects with Last-Event-ID while appends went on, then it gets k+1.. exactly once', async () => {
  const first = await collectSse(server.url, '/api/events?from=1', (m) => eventSeqs(m).length >= 10);
  // The client saw the first 10 (a chunk may have carried more; they count as not seen).
  const k = eventSeqs(first.messages)[9];
  assert.is(k, 10);
  for (const batch of runBatches({ run: 'run-2', epochs: 3 }, ledger.lastSeq + 1)) await ledger.append(batch, { durable: true });
  const last = ledger.lastSeq;
  // ?from=1 is ignored: Last-Event-ID wins, as a browser's EventSource reconnect sends the original URL.
  const resumed = await collectSse(server.url, '/api/events?from=1', caughtUp, { headers: { 'last-event-id': String(k) } });
  const seqs = eventSeqs(resumed.messages);
  assert.equal(seqs, range(k + 1, last));
  assert.equal([...eventSeqs(first.messages).slice(0, 10), ...seqs], range(1, last), 'no gap, no duplicate across the reconnect');
});

test('given a live stream, when batches are appended during and after the replay, then seqs stay consecutive to the end', async () => {
  const startSeq = ledger.lastSeq;
  const collecting = collectSse(server.url, '/api/events?from=1', (m) => eventSeqs(m).at(-1) === target);
  let target = Number.POSITIVE_INFINITY;
  const batches = [...runBatches({ run: 'run-3', epochs: 5 }, startSeq + 1)];
  for (const batch of batches) await ledger.append(batch);
  await ledger.append([{ stream: 'run-3', type: 'TrainerLog', data: { run: 'run-3', source: 'log', level: 'info', line: 'done' } }], { durable: true });
  target = ledger.lastSeq;
  const { messages } = await collecting;
  assert.equal(eventSeqs(messages), range(1, target));
  assert.ok(target > startSeq + batches.length - 1);
});

test('given ?types=, when streaming, then only those types arrive and the caught-up marker still does', async () => {
  const { messages } = await collectSse(server.url, '/api/events?from=1&types=EpochEnded,CheckpointCommitted', caughtUp);
  const types = new Set(messages.filter((m) => m.event === 'message').map((m) => (JSON.parse(m.data) as LedgerEvent).type));
  assert.equal([...types].sort(), ['CheckpointCommitted', 'EpochEnded']);
  assert.is(messages.filter((m) => m.event === 'message' && JSON.parse(m.data).type === 'EpochEnded').length, 6);
});

test('given ?exclude=, when streaming and resuming, then those types never arrive and the rest stay gap-free', async () => {
  await ledger.append([
    { stream: 'run-1', type: 'BatchEnded', data: { run: 'run-1', epoch: 7, batch: 1, step: 601, metrics: { loss: 0.1 } } },
    { stream: 'run-1', type: 'TrainerLog', data: { run: 'run-1', source: 'log', level: 'info', line: 'hi' } },
    { stream: 'run-1', type: 'EpochEnded', data: { run: 'run-1', epoch: 7, step: 700, metrics: { loss: 0.1 }, ms: 5 } },
  ]);
  const last = ledger.lastSeq;
  const { messages } = await collectSse(server.url, '/api/events?from=1&exclude=BatchEnded,TrainerLog', caughtUp);
  assert.equal(eventSeqs(messages), [...range(1, last - 3), last]);
  const resumed = await collectSse(server.url, '/api/events?exclude=BatchEnded,TrainerLog', caughtUp, { headers: { 'last-event-id': String(last - 3) } });
  assert.equal(eventSeqs(resumed.messages), [last]);
});

test('given ?batch=1, when streaming, then each message is an array of consecutive events whose id is its last seq, and resume still works', async () => {
  const last = ledger.lastSeq;
  const { messages } = await collectSse(server.url, '/api/events?from=1&batch=1', caughtUp);
  const batches = messages.filter((m) => m.event === 'batch');
  assert.ok(batches.length >= 1 && batches.length < last, `${batches.length} batches for ${last} events`);
  const seqs = batches.flatMap((m) => (JSON.parse(m.data) as LedgerEvent[]).map((e) => e.seq));
  assert.equal(seqs, range(1, last));
  for (const m of batches) assert.is(Number(m.id), (JSON.parse(m.data) as LedgerEvent[]).at(-1)!.seq);
  assert.is(messages.at(-1)!.event, 'caught-up', 'the marker comes after every replayed batch');
  await ledger.append([{ stream: 'run-1', type: 'TrainerLog', data: { run: 'run-1', source: 'log', level: 'info', line: 'x' } }]);
  const resumed = await collectSse(server.url, '/api/events?batch=1', caughtUp, { headers: { 'last-event-id': String(last) } });
  assert.equal(resumed.messages.filter((m) => m.event === 'batch').flatMap((m) => JSON.parse(m.data).map((e: LedgerEvent) => e.seq)), [last + 1]);
});

test('given an idle stream, when the heartbeat interval passes, then comment lines keep it open', async () => {
  const fast = await startOwnerServer({ dir, ledger }, { heartbeatMs: 40, advertise: false });
  try {
    const { comments, messages } = await collectSse(fast.url, `/api/events?from=${ledger.lastSeq + 1}`, (_m, c) => c >= 4, { timeoutMs: 3000 });
    assert.ok(comments >= 4, `got ${comments} comments`);
    assert.equal(eventSeqs(messages), []);
    assert.ok(caughtUp(messages));
  } finally {
    await fast.close();
  }
});

test('given followEvents, when the server restarts on the same port mid-stream, then the client resumes with no gap and no duplicate', async () => {
  const port = server.port;
  const seen: number[] = [];
  const ac = new AbortController();
  let target = Number.POSITIVE_INFINITY;
  const following = (async () => {
    for await (const event of followEvents({ url: server.url }, { from: 1, signal: ac.signal, retryMs: 50, retries: 40 })) {
      seen.push(event.seq);
      if (event.seq >= target) ac.abort();
    }
  })();
  while (seen.length < ledger.lastSeq) await new Promise((r) => setTimeout(r, 10));
  await server.close();
  for (const batch of runBatches({ run: 'run-4', epochs: 3 }, ledger.lastSeq + 1)) await ledger.append(batch);
  target = ledger.lastSeq;
  server = await startOwnerServer({ dir, ledger }, { port });
  await following;
  assert.equal(seen, range(1, target));
});

test('given followEvents, when the owner is gone for good, then it throws SERVER_UNAVAILABLE with the last seq it delivered', async () => {
  const seen: number[] = [];
  const last = ledger.lastSeq;
  let error: unknown;
  try {
    for await (const event of followEvents({ url: server.url }, { from: 1, retries: 2, retryMs: 20 })) {
      seen.push(event.seq);
      if (event.seq === last) await server.close();
    }
  } catch (e) {
    error = e;
  }
  assert.instance(error, CkptError);
  assert.is((error as CkptError).code, 'SERVER_UNAVAILABLE');
  assert.is((error as CkptError).details.lastSeq, last);
  assert.equal(seen, range(1, last));
});

test('given an owner that accepts every stream and then fails at once, when followed, then followEvents gives up with SERVER_UNAVAILABLE after its retries', async () => {
  let connections = 0;
  const failing = createServer((_req, res) => {
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('event: server-error\ndata: {"message":"ledger record at seq 1 is missing"}\n\n');
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
    let error: unknown;
    try {
      for await (const event of followEvents({ url }, { retries: 2, retryMs: 10 })) assert.unreachable(`no event expected, got seq ${event.seq}`);
    } catch (e) {
      error = e;
    }
    assert.is((error as CkptError).code, 'SERVER_UNAVAILABLE');
    assert.match((error as CkptError).message, /continue after seq 0/);
    assert.is(connections, 3, 'the first try and 2 retries');
  } finally {
    await new Promise((resolve) => failing.close(resolve));
  }
});

test.run();
