import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryLedger } from '../ledger/index.js';
import { fetchJson, readOwner, readOwnerFile, removeOwnerFile, startOwnerServer, writeOwnerFile } from '../src/server/index.js';
import { killOwnerChildren, startOwnerChild } from './server.helpers.js';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-server-owner-'));
});
test.after.each(() => {
  killOwnerChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('given an owner server, when it starts, then owner.json advertises pid/host/port/startedAt and readOwner reaches it; close removes it', async () => {
  const ledger = await openMemoryLedger();
  const before = Date.now();
  const server = await startOwnerServer({ dir, ledger });
  try {
    const file = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    assert.equal(Object.keys(file).sort(), ['host', 'pid', 'port', 'startedAt']);
    assert.is(file.pid, process.pid);
    assert.is(file.host, '127.0.0.1');
    assert.is(file.port, server.port);
    assert.ok(file.startedAt >= before && file.startedAt <= Date.now());
    const owner = await readOwner(dir);
    assert.ok(owner);
    assert.is(owner!.url, server.url);
    const health = await fetchJson<{ pid: number; role: string }>(owner!, '/api/health');
    assert.is(health.pid, process.pid);
    assert.is(health.role, 'owner');
  } finally {
    await server.close();
    await ledger.close();
  }
  assert.not.ok(existsSync(join(dir, 'owner.json')));
  assert.is(await readOwner(dir), null);
});

test('given an owner killed with SIGKILL, when readOwner runs, then the stale owner.json is ignored and removed', async () => {
  const owner = await startOwnerChild(dir);
  assert.is((await readOwner(dir))?.pid, owner.pid);
  owner.child.kill('SIGKILL');
  const { signal } = await owner.exited;
  assert.is(signal, 'SIGKILL');
  assert.ok(existsSync(join(dir, 'owner.json')), 'a killed owner cannot clean up');
  assert.is(await readOwner(dir), null);
  assert.not.ok(existsSync(join(dir, 'owner.json')));
});

test('given an owner that exits without closing, when the process exits, then its exit hook removed owner.json', async () => {
  const owner = await startOwnerChild(dir);
  assert.ok(existsSync(join(dir, 'owner.json')));
  owner.child.stdin!.write('exit\n');
  const { code } = await owner.exited;
  assert.is(code, 0);
  assert.not.ok(existsSync(join(dir, 'owner.json')));
});

test('given owner.json naming a live pid whose port does not answer, when readOwner runs, then it is stale and removed', async () => {
  writeOwnerFile(dir, { pid: process.pid, host: '127.0.0.1', port: await deadPort(), startedAt: Date.now() });
  assert.ok(readOwnerFile(dir));
  assert.is(await readOwner(dir, { timeoutMs: 500 }), null);
  assert.not.ok(existsSync(join(dir, 'owner.json')));
});

test('given owner.json naming a dead pid, when readOwner runs, then it is removed without contacting the port', async () => {
  const child = await startOwnerChild(dir);
  child.child.kill('SIGKILL');
  await child.exited;
  // The pid is dead: stale whatever the port does.
  writeOwnerFile(dir, { pid: child.pid, host: '127.0.0.1', port: child.port, startedAt: Date.now() });
  assert.is(await readOwner(dir), null);
  assert.not.ok(existsSync(join(dir, 'owner.json')));
});

test('given a newer owner rewrote owner.json, when an older owner withdraws, then the newer advertisement survives', () => {
  writeOwnerFile(dir, { pid: 4242, host: '127.0.0.1', port: 7000, startedAt: 1 });
  assert.is(removeOwnerFile(dir, { pid: process.pid, port: 6006 }), false);
  assert.is(readOwnerFile(dir)?.pid, 4242);
  assert.is(removeOwnerFile(dir, { pid: 4242, port: 7000 }), true);
  assert.is(readOwnerFile(dir), null);
});

test('given a corrupt or partial owner.json, when read, then it counts as no owner', async () => {
  writeFileSync(join(dir, 'owner.json'), '{"pid": 12, "po');
  assert.is(readOwnerFile(dir), null);
  assert.is(await readOwner(dir), null);
});

test('given a directory that does not exist, when an owner server starts there, then it fails with SERVER_ADVERTISE and leaves no listener', async () => {
  const ledger = await openMemoryLedger();
  const listeners = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
  const before = listeners();
  let error: any;
  try {
    await startOwnerServer({ dir: join(dir, 'missing', 'deeper'), ledger });
  } catch (e) {
    error = e;
  }
  await ledger.close();
  assert.is(error?.code, 'SERVER_ADVERTISE');
  assert.match(error.message, /owner\.json/);
  // libuv drops a closed handle a moment after server.close() reports: poll briefly; an open listener stays.
  for (let i = 0; i < 50 && listeners() > before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.is(listeners(), before, 'the HTTP listener was closed again');
});

test.run();
