import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../ledger/index.js';

const KILLS = 20;

interface ChildRun {
  durable: Map<string, number>;
  killedAfterMs: number;
}

/** Starts the appending child, SIGKILLs it `delayMs` after it is ready, and returns what it reported durable. */
function runAndKill(dir: string, tag: string, delayMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/ledger.crash-child.ts', dir, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const durable = new Map<string, number>();
    let pending = '';
    let stderr = '';
    let readyAt = 0;
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() as string;
      for (const line of lines) {
        const [kind, batch, size] = line.split(' ');
        if (kind === 'ready' && readyAt === 0) {
          readyAt = Date.now();
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
        if (kind === 'D') durable.set(batch, Number(size));
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`crash child ended by itself (exit ${code}): ${stderr}`));
      else resolve({ durable, killedAfterMs: Date.now() - readyAt });
    });
  });
}

test(`given a child appending durable batches, when SIGKILLed ${KILLS} times at random moments, then every durable batch is whole and no batch is partial`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'ckpt-ledger-crash-'));
  const dir = join(root, 'ledger');
  const reportedDurable = new Map<string, number>();
  let kills = 0;
  let lastSeqBefore = 0;
  try {
    for (let run = 0; run < KILLS; run++) {
      const { durable } = await runAndKill(dir, `r${run}`, Math.floor(Math.random() * 120));
      kills++;
      for (const [batch, size] of durable) reportedDurable.set(batch, size);

      const ledger = await openLedger(dir);
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
      assert.ok(ledger.lastSeq >= lastSeqBefore, 'nothing stored before a crash disappears after the next one');
      lastSeqBefore = ledger.lastSeq;
      for (const [batch, size] of reportedDurable) {
        const found = batches.get(batch);
        assert.ok(found, `durable batch ${batch} is present after kill ${kills}`);
        assert.is(found.indexes.length, size, `durable batch ${batch} is whole`);
      }
      for (const [batch, found] of batches) {
        assert.equal(found.indexes, Array.from({ length: found.size }, (_, i) => i), `batch ${batch} is not partial`);
        assert.equal(found.seqs, Array.from({ length: found.size }, (_, i) => found.seqs[0] + i), `batch ${batch} is contiguous`);
      }
      await ledger.close();
    }
    assert.is(kills, KILLS);
    assert.ok(reportedDurable.size >= KILLS, `the children reported durable batches (${reportedDurable.size})`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
