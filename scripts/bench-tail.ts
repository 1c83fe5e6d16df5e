/**
 * `npm run bench:tail [-- --json]`: how long a durable append takes to reach a dashboard: from the moment the
 * owner calls `append(..., {durable: true})` to the moment an SSE client on loopback (`followEvents`, the same
 * parser the CLI uses) has the event, over 10k events appended in batches as a supervisor does.
 *   tailP50Ms / tailP99Ms   append start → SSE client receipt (target p99 <= 50 ms)
 *   rawAppendP50Ms / P99Ms  the same durable appends with no server and no client (baseline, same run)
 *   afterDurableP99Ms       receipt - append resolved: what HTTP + SSE add after the write is durable (0 when
 *                           an event arrived before its append resolved; beforeDurablePct counts those)
 * BENCH_TAIL_EVENTS (default 10000) and BENCH_TAIL_BATCH (default 10 events per append) change the load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openLedger, type EventInput, type Ledger } from '../ledger/index.js';
import { followEvents, startOwnerServer } from '../src/server/index.js';

const json = process.argv.includes('--json');
const total = Number(process.env.BENCH_TAIL_EVENTS ?? 10_000);
const batchSize = Number(process.env.BENCH_TAIL_BATCH ?? 10);
const root = mkdtempSync(join(tmpdir(), 'ckpt-bench-tail-'));
const log = (line: string): void => {
  if (!json) process.stderr.write(`  … ${line}\n`);
};

/** An EpochEnded-sized event. */
function sampleEvent(n: number): EventInput {
  return { stream: 'run-1', type: 'EpochEnded', data: { run: 'run-1', epoch: n, step: n * 100, metrics: { loss: 1 / (n + 1), val_loss: 1.1 / (n + 1), acc: n / (n + 1), val_acc: n / (n + 2) }, ms: 12 } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const round = (n: number): number => Math.round(n * 100) / 100;

/** Durable appends in batches, each awaited before the next; returns per-event times from append start. */
async function appendAll(ledger: Ledger, startedAt: Map<number, number> | null, durableAt?: Map<number, number>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < total; i += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, total - i) }, (_, j) => sampleEvent(i + j));
    const t0 = performance.now();
    const firstSeq = ledger.lastSeq + 1;
    if (startedAt) for (let j = 0; j < batch.length; j++) startedAt.set(firstSeq + j, t0);
    await ledger.append(batch, { durable: true });
    const t1 = performance.now();
    for (let j = 0; j < batch.length; j++) durations.push(t1 - t0);
    if (durableAt) for (let j = 0; j < batch.length; j++) durableAt.set(firstSeq + j, t1);
  }
  return durations;
}

async function baseline(): Promise<number[]> {
  const ledger = await openLedger(join(root, 'baseline'));
  try {
    return (await appendAll(ledger, null)).sort((a, b) => a - b);
  } finally {
    await ledger.close();
  }
}

async function tail(): Promise<{ latencies: number[]; received: number; afterDurable: number[]; early: number }> {
  const dir = join(root, 'tail');
  const ledger = await openLedger(join(dir, 'ledger'));
  const server = await startOwnerServer({ dir, ledger }, { advertise: false });
  const startedAt = new Map<number, number>();
  const receivedAt = new Map<number, number>();
  const durableAt = new Map<number, number>();
  const latencies: number[] = [];
  const ac = new AbortController();
  let received = 0;
  let caughtUp!: () => void;
  const ready = new Promise<void>((resolve) => (caughtUp = resolve));
  const client = (async () => {
    for await (const event of followEvents({ url: server.url }, { from: 1, signal: ac.signal, onCaughtUp: () => caughtUp() })) {
      const t0 = startedAt.get(event.seq);
      const now = performance.now();
      if (t0 !== undefined) latencies.push(now - t0);
      receivedAt.set(event.seq, now);
      received++;
      if (received === total) ac.abort();
    }
  })();
  try {
    await ready;
    await appendAll(ledger, startedAt, durableAt);
    await Promise.race([client, new Promise((_, reject) => setTimeout(() => reject(new Error(`client got ${received}/${total} events`)), 30_000))]);
    const afterDurable: number[] = [];
    let early = 0;
    for (const [seq, at] of receivedAt) {
      const durable = durableAt.get(seq)!;
      if (at < durable) early++;
      afterDurable.push(Math.max(0, at - durable));
    }
    return { latencies: latencies.sort((a, b) => a - b), received, afterDurable: afterDurable.sort((a, b) => a - b), early };
  } finally {
    ac.abort();
    await server.close();
    await ledger.close();
  }
}

try {
  log(`raw durable appends: ${total} events in batches of ${batchSize}`);
  const raw = await baseline();
  log('durable appends → owner server → SSE client on loopback');
  const { latencies, received, afterDurable, early } = await tail();
  const rawP50 = percentile(raw, 50);
  const rawP99 = percentile(raw, 99);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const rows: { metric: string; value: number; unit: string; target: string | null; pass: boolean | null }[] = [
    { metric: 'events', value: received, unit: `events (batches of ${batchSize})`, target: `= ${total}`, pass: received === total },
    { metric: 'tailP50Ms', value: round(p50), unit: 'ms append start → SSE receipt', target: null, pass: null },
    { metric: 'tailP99Ms', value: round(p99), unit: 'ms', target: '<= 50', pass: p99 <= 50 },
    { metric: 'tailMaxMs', value: round(latencies[latencies.length - 1]), unit: 'ms', target: null, pass: null },
    { metric: 'rawAppendP50Ms', value: round(rawP50), unit: 'ms durable append alone (baseline)', target: null, pass: null },
    { metric: 'rawAppendP99Ms', value: round(rawP99), unit: 'ms', target: null, pass: null },
    { metric: 'afterDurableP99Ms', value: round(percentile(afterDurable, 99)), unit: 'ms append resolved → SSE receipt (0 if earlier)', target: null, pass: null },
    { metric: 'beforeDurablePct', value: round((100 * early) / Math.max(1, received)), unit: '% events received before their append resolved', target: null, pass: null },
    { metric: 'tailRatioP99', value: round(p99 / rawP99), unit: 'x tailP99 / rawAppendP99', target: null, pass: null },
  ];
  if (json) {
    const out: Record<string, unknown> = Object.fromEntries(rows.map((r) => [r.metric, r.value]));
    out.batch = batchSize;
    out.targets = { tailP99Ms: '<= 50' };
    out.pass = rows.every((r) => r.pass !== false);
    console.log(JSON.stringify(out));
  } else {
    const width = Math.max(...rows.map((r) => r.metric.length));
    const valueWidth = Math.max(...rows.map((r) => String(r.value).length));
    for (const row of rows) {
      const verdict = row.target ? `${row.pass ? 'PASS' : 'MISS'} ${row.target}` : '';
      console.log(`${row.metric.padEnd(width)}  ${String(row.value).padStart(valueWidth)}  ${verdict.padEnd(12)}  ${row.unit}`);
    }
  }
  process.exitCode = rows.every((r) => r.pass !== false) ? 0 : 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
