/**
 * `npm run bench:scale [-- --json]`: the shared ledger (PostgreSQL) and the S3 blob store, each beside a raw
 * baseline measured in the same run on the same servers (a throwaway PostgreSQL 15 and s3rver on 127.0.0.1):
 *   appendRatio      1000-event ledger appends vs a raw multi-row INSERT of the same bytes into a table of the
 *                    same shape, same commit mode (>= 0.7; median batch times, interleaved)
 *   durableRatio     single-event durable append p50 vs a raw single-row INSERT commit p50 (<= 1.5)
 *   tailP99Ms        append in one handle → event in another handle's tail (LISTEN/NOTIFY + catch-up read) (<= 50)
 *   s3SaveRatio      S3BlobStore.putMany of fresh blobs (hash, HeadObject, upload) vs raw PutObject of the
 *                    same bytes (>= 0.8)
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { openPgLedger, type EventInput } from '../ledger/index.js';
import { encodeEvent } from '../ledger/lib/codec.js';
import { S3BlobStore } from '../src/store/s3-blobs.js';
import { s3Client } from '../src/store/s3-location.js';
import { startPostgres } from '../test/fixtures/postgres.js';
import { startS3Process } from '../test/fixtures/s3.js';

const json = process.argv.includes('--json');
const log = (line: string): void => void (json || process.stderr.write(`  … ${line}\n`));
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const median = (values: number[]): number => percentile(values, 50);

function sampleEvent(n: number): EventInput {
  return { stream: 'run-1', type: 'EpochEnded', at: 1_700_000_000_000 + n, data: { run: 'run-1', epoch: n, step: n * 100, metrics: { loss: 1 / (n + 1), val_loss: 1.1 / (n + 1), acc: n / (n + 1) }, ms: 12 } };
}

const server = await startPostgres();
const s3 = await startS3Process(['bench']);
Object.assign(process.env, s3.env);
const results: Record<string, number> = {};
try {
  const raw = new pg.Client(server.url);
  await raw.connect();
  await raw.query('CREATE TABLE raw_events (seq bigint PRIMARY KEY, id text NOT NULL UNIQUE, bytes bytea NOT NULL)');
  const ledger = await openPgLedger(server.url, { schema: 'bench' });

  // Append throughput: 1000-event batches, non-durable on both sides (synchronous_commit off), interleaved.
  const BATCH = 1000;
  const ROUNDS = 15;
  const ledgerMs: number[] = [];
  const rawMs: number[] = [];
  let rawSeq = 0;
  await raw.query('SET synchronous_commit = off');
  for (let round = 0; round < ROUNDS; round++) {
    const inputs = Array.from({ length: BATCH }, (_, i) => sampleEvent(round * BATCH + i));
    // The raw side inserts the very envelopes the ledger stores (same bytes, same ids, same seqs shape).
    const envelopes = inputs.map((e, i) => encodeEvent({ seq: rawSeq + i + 1, id: `00000000-0000-8000-8000-${(rawSeq + i + 1).toString(16).padStart(12, '0')}`, stream: e.stream, type: e.type, v: 1, at: e.at as number, data: e.data }));
    const values: unknown[] = [];
    const rows: string[] = [];
    envelopes.forEach((bytes, i) => {
      values.push(rawSeq + i + 1, `00000000-0000-8000-8000-${(rawSeq + i + 1).toString(16).padStart(12, '0')}`, bytes);
      rows.push(`($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`);
    });
    const sql = `INSERT INTO raw_events (seq, id, bytes) VALUES ${rows.join(',')}`;
    const sides = [
      async () => { const t = performance.now(); await ledger.append(inputs); ledgerMs.push(performance.now() - t); },
      async () => { const t = performance.now(); await raw.query(sql, values); rawMs.push(performance.now() - t); rawSeq += BATCH; },
    ];
    if (round % 2) sides.reverse();
    for (const side of sides) await side();
  }
  await raw.query('SET synchronous_commit = on');
  results.appendPerSec = Math.round(BATCH / (median(ledgerMs) / 1000));
  results.rawInsertPerSec = Math.round(BATCH / (median(rawMs) / 1000));
  results.appendRatio = results.appendPerSec / results.rawInsertPerSec;
  log(`append ${results.appendPerSec}/s vs raw ${results.rawInsertPerSec}/s`);

  // Durable single-event append vs raw single-row INSERT commit (synchronous_commit on), interleaved.
  const durable: number[] = [];
  const rawDurable: number[] = [];
  for (let i = 0; i < 200; i++) {
    const event = sampleEvent(1_000_000 + i);
    const bytes = encodeEvent({ seq: rawSeq + 1, id: `d-${i}`, stream: event.stream, type: event.type, v: 1, at: event.at as number, data: event.data });
    let t = performance.now();
    await ledger.append([event], { durable: true });
    durable.push(performance.now() - t);
    t = performance.now();
    await raw.query('INSERT INTO raw_events (seq, id, bytes) VALUES ($1, $2, $3)', [++rawSeq, `d-${i}`, bytes]);
    rawDurable.push(performance.now() - t);
  }
  results.durableP50Ms = median(durable);
  results.durableP99Ms = percentile(durable, 99);
  results.rawInsertCommitP50Ms = median(rawDurable);
  results.durableRatio = results.durableP50Ms / results.rawInsertCommitP50Ms;
  log(`durable p50 ${results.durableP50Ms.toFixed(3)} ms vs raw ${results.rawInsertCommitP50Ms.toFixed(3)} ms`);

  // Tail: append in one handle, receive in another handle's tail (another process would see the same path).
  const reader = await openPgLedger(server.url, { schema: 'bench' });
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let caughtUp = false;
  const subscription = reader.tail(reader.lastSeq + 1).subscribe((item) => {
    if (item.kind === 'caught-up') caughtUp = true;
    else {
      // Keyed by the event's own epoch, set before the append: the tail may see it before append() resolves.
      const sent = sentAt.get((item.event.data as { epoch: number }).epoch);
      if (sent !== undefined) latencies.push(performance.now() - sent);
    }
  });
  while (!caughtUp) await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 300; i++) {
    sentAt.set(2_000_000 + i, performance.now());
    await ledger.append([sampleEvent(2_000_000 + i)]);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const deadline = Date.now() + 10_000;
  while (latencies.length < 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  subscription.unsubscribe();
  results.tailReceived = latencies.length;
  results.tailP50Ms = median(latencies);
  results.tailP99Ms = percentile(latencies, 99);
  log(`tail p50 ${results.tailP50Ms.toFixed(2)} ms, p99 ${results.tailP99Ms.toFixed(2)} ms (${latencies.length}/300)`);
  await reader.close();
  await ledger.close();
  await raw.end();

  // S3 save: fresh 4 MB blobs through the store vs raw PutObject of the same bytes, interleaved, 4 at a time.
  const store = new S3BlobStore('s3://bench/store');
  await store.init();
  const client = s3Client();
  const storeMs: number[] = [];
  const putMs: number[] = [];
  const BLOB = 4 * 1024 * 1024;
  for (let round = 0; round < 10; round++) {
    const blobs = Array.from({ length: 4 }, () => randomBytes(BLOB));
    const copies = blobs.map((b) => Buffer.from(b));
    const sides = [
      async () => { const t = performance.now(); await store.putMany(blobs, 4); storeMs.push(performance.now() - t); },
      async () => {
        const t = performance.now();
        await Promise.all(copies.map((body, i) => client.send(new PutObjectCommand({ Bucket: 'bench', Key: `raw/${round}-${i}`, Body: body }))));
        putMs.push(performance.now() - t);
      },
    ];
    if (round % 2) sides.reverse();
    for (const side of sides) await side();
  }
  results.s3SaveMBps = (4 * BLOB) / 1e6 / (median(storeMs) / 1000);
  results.rawPutMBps = (4 * BLOB) / 1e6 / (median(putMs) / 1000);
  results.s3SaveRatio = results.s3SaveMBps / results.rawPutMBps;
  log(`s3 save ${results.s3SaveMBps.toFixed(1)} MB/s vs raw PutObject ${results.rawPutMBps.toFixed(1)} MB/s`);
} finally {
  await s3.stop();
  await server.stop();
}

const pass = {
  appendRatio: results.appendRatio >= 0.7,
  durableRatio: results.durableRatio <= 1.5,
  tailP99Ms: results.tailReceived === 300 && results.tailP99Ms <= 50,
  s3SaveRatio: results.s3SaveRatio >= 0.8,
};
if (json) {
  process.stdout.write(`${JSON.stringify({ ...results, pass })}\n`);
} else {
  const row = (name: string, value: string, target: string, ok: boolean): string => `${name.padEnd(16)} ${value.padEnd(34)} ${target.padEnd(10)} ${ok ? 'ok' : 'MISS'}`;
  console.log(row('metric', 'value', 'target', true).replace(/ok$/, ''));
  console.log(row('appendRatio', `${results.appendRatio.toFixed(2)} (${results.appendPerSec}/${results.rawInsertPerSec} ev/s)`, '>= 0.7', pass.appendRatio));
  console.log(row('durableRatio', `${results.durableRatio.toFixed(2)} (${results.durableP50Ms.toFixed(2)}/${results.rawInsertCommitP50Ms.toFixed(2)} ms)`, '<= 1.5', pass.durableRatio));
  console.log(row('tailP99Ms', `${results.tailP99Ms.toFixed(2)} (p50 ${results.tailP50Ms.toFixed(2)})`, '<= 50', pass.tailP99Ms));
  console.log(row('s3SaveRatio', `${results.s3SaveRatio.toFixed(2)} (${results.s3SaveMBps.toFixed(0)}/${results.rawPutMBps.toFixed(0)} MB/s)`, '>= 0.8', pass.s3SaveRatio));
}
