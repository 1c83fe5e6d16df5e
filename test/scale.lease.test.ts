/**
 * Run ownership on a shared PostgreSQL ledger: leases held by real processes (stand-in hosts), a second holder
 * refused with LEDGER_LOCKED naming host and pid, kill -9 of the holder, expiry, takeover.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { acquireLease, LedgerError } from '../ledger/index.js';
import { startPostgres } from './fixtures/postgres.js';

const server = await startPostgres();
const test = suite('scale: run leases');
const children: ChildProcess[] = [];
test.after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server.stop();
});

const CHILD = fileURLToPath(new URL('./scale.lease-child.ts', import.meta.url));

/** Starts a child "host" and resolves with it and its first JSON line. */
function host(stream: string, ttlMs: number, mode: 'once' | 'wait'): { child: ChildProcess; next: () => Promise<Record<string, any>> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, server.url, stream, String(ttlMs), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, next: async () => JSON.parse((await lines.next()).value as string) };
}

test('given a host holding run-1, when a second host asks for it, then LEDGER_LOCKED names the holder; another run is free', async () => {
  const first = host('run-1', 5000, 'once');
  const held = await first.next();
  assert.is(held.held, true);
  const second = host('run-1', 5000, 'once');
  const refused = await second.next();
  assert.is(refused.error, 'LEDGER_LOCKED');
  assert.is(refused.details.pid, first.child.pid);
  assert.is(refused.details.host, hostname());
  assert.match(refused.message, new RegExp(`run-1 is owned by ${hostname()} \\(pid ${first.child.pid}\\)`));
  const other = await acquireLease(server.url, 'run-2', { ttlMs: 5000 });
  assert.is(other.stream, 'run-2');
  await other.release();
  first.child.kill('SIGKILL');
});

test('given a holder killed with SIGKILL, when its lease expires, then a waiting host takes the run over — not before', async () => {
  const ttlMs = 1500;
  const first = host('run-3', ttlMs, 'once');
  assert.is((await first.next()).held, true);
  const waiting = host('run-3', ttlMs, 'wait');
  // The live holder keeps renewing: the waiter stays out for several lease periods.
  await new Promise((resolve) => setTimeout(resolve, ttlMs * 2));
  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  const taken = await waiting.next();
  assert.is(taken.held, true);
  const afterKill = Date.now() - killedAt;
  assert.ok(afterKill >= ttlMs / 3, `took over ${afterKill} ms after the kill: the lease must outlive the dead holder's last heartbeat`);
  assert.ok(afterKill < ttlMs + 10_000, `took over ${afterKill} ms after the kill`);
  waiting.child.kill('SIGKILL');
});

test('given a lease, when it is released, then the next holder gets it at once; a holder whose lease was taken hears onLost', async () => {
  const lease = await acquireLease(server.url, 'run-4', { ttlMs: 60_000 });
  await lease.release();
  const lost: LedgerError[] = [];
  const next = await acquireLease(server.url, 'run-4', { ttlMs: 300, onLost: (e) => lost.push(e) });
  // Simulate a holder that stalled past its lease: another takes it over while it was not renewing.
  const { default: pg } = await import('pg');
  const admin = new pg.Client(server.url);
  await admin.connect();
  await admin.query(`UPDATE ckpt.leases SET holder = 'someone-else', expires_at = now() + interval '1 hour' WHERE stream = 'run-4'`);
  await admin.end();
  const deadline = Date.now() + 5000;
  while (lost.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(lost[0]?.code, 'LEDGER_LOCKED');
  await next.release();
});

test.run();
