import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../ledger/index.js';
import { bundledChild } from './ledger.children.js';
import { CRASH_SNAPSHOT_EVERY, crashCounts } from './ledger.crash-projection.js';

const KILLS_PER_LANE = 5;
const LANES = 4; // independent ledgers killed in parallel: 20 SIGKILLs in the time of 5

interface Reported {
  durable: Map<string, number>;
}

/** Starts the appending child, SIGKILLs it `delayMs` after it is ready, and returns what it reported durable. */
function runAndKill(child: string, dir: string, tag: string, delayMs: number): Promise<Reported> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const durable = new Map<string, number>();
    let pending = '';
    let stderr = '';
    let ready = false;
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    proc.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() as string;
      for (const line of lines) {
        const [kind, batch, size] = line.split(' ');
        if (kind === 'ready' && !ready) {
          ready = true;
          setTimeout(() => proc.kill('SIGKILL'), delayMs);
        }
        if (kind === 'D') durable.set(batch, Number(size));
      }
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`crash child ended by itself (exit ${code}): ${stderr}`));
      else resolve({ durable });
    });
  });
}

/**
 * Reopens the ledger and checks: every durable batch present and whole, no partial batch, dense seqs, and the
 * projection restored from its snapshot equals a rebuild from every event.
 */
async function verify(dir: string, reportedDurable: Map<string, number>, kill: number): Promise<number> {
  const ledger = await openLedger(dir, { projections: [crashCounts], snapshotEvery: CRASH_SNAPSHOT_EVERY });
  try {
    assert.equal(ledger.state('crash-counts'), await ledger.rebuild(crashCounts), `restored projection == rebuild after kill ${kill}`);
    const batches = new Map<string, { size: number; indexes: number[]; seqs: number[] }>();
    let expectedSeq = 1;
    for await (const event of ledger.read({ batchSize: 500 })) {
      assert.is(event.seq, expectedSeq++, 'seqs are dense');
      const { batch, index, size } = event.data as { batch: string; index: number; size: number };
      const found = batches.get(batch) ?? { size, indexes: [], seqs: [] };
      found.indexes.push(index);
      found.seqs.push(event.seq);
      batches.set(batch, found);
    }
    for (const [batch, size] of reportedDurable) {
      const found = batches.get(batch);
      assert.ok(found, `durable batch ${batch} is present after kill ${kill}`);
      assert.is(found.indexes.length, size, `durable batch ${batch} is whole`);
    }
    for (const [batch, found] of batches) {
      assert.equal(found.indexes, Array.from({ length: found.size }, (_, i) => i), `batch ${batch} is not partial`);
      assert.equal(found.seqs, Array.from({ length: found.size }, (_, i) => found.seqs[0] + i), `batch ${batch} is contiguous`);
    }
    return ledger.lastSeq;
  } finally {
    await ledger.close();
  }
}

async function lane(child: string, dir: string, name: string): Promise<{ kills: number; durableBatches: number; lastSeq: number }> {
  const reportedDurable = new Map<string, number>();
  let lastSeq = 0;
  let kills = 0;
  for (let run = 0; run < KILLS_PER_LANE; run++) {
    const { durable } = await runAndKill(child, dir, `${name}r${run}`, Math.floor(Math.random() * 120));
    kills++;
    for (const [batch, size] of durable) reportedDurable.set(batch, size);
    const seq = await verify(dir, reportedDurable, kills);
    assert.ok(seq >= lastSeq, 'nothing stored before a crash disappears after the next one');
    lastSeq = seq;
  }
  return { kills, durableBatches: reportedDurable.size, lastSeq };
}

test(`given children appending durable batches, when SIGKILLed ${LANES * KILLS_PER_LANE} times at random moments, then every durable batch is whole and no batch is partial`, async () => {
  const child = await bundledChild('crash');
  const root = mkdtempSync(join(tmpdir(), 'ckpt-ledger-crash-'));
  try {
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, i) => lane(child, join(root, `ledger-${i}`), `l${i}`)));
    assert.is(lanes.reduce((sum, l) => sum + l.kills, 0), LANES * KILLS_PER_LANE);
    for (const l of lanes) assert.ok(l.durableBatches >= KILLS_PER_LANE, `the children reported durable batches (${l.durableBatches}, ${l.lastSeq} events)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
