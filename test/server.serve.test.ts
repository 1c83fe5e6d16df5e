import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkspace } from '../src/workspace.js';
import { fetchJson, followEvents, readOwner, serve } from '../src/server/index.js';
import { foldViewState, listCheckpoints, summaryView, whyCheckpoint } from '../src/views/index.js';
import { fillLedger } from './server.fixture.js';
import { caughtUp, collectSse, eventSeqs, rawGet, startOwnerChild } from './server.helpers.js';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-server-serve-'));
});
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('given a directory nobody owns, when served, then serve owns it, advertises itself and answers exactly what the views compute', async () => {
  const ws = await openWorkspace(dir, { create: true });
  await fillLedger(ws.ledger, { epochs: 6, crashAfter: 2 });
  const expected = await foldViewState(ws.ledger.read());
  await ws.close();
  const handle = await serve({ dir, port: 0 });
  try {
    assert.is(handle.mode(), 'owner');
    assert.is((await readOwner(dir))?.port, handle.port);
    assert.equal(await fetchJson(handle, '/api/checkpoints?all=1'), JSON.parse(JSON.stringify(listCheckpoints(expected, { all: true }))));
    assert.equal(await fetchJson(handle, '/api/summary'), JSON.parse(JSON.stringify(summaryView(expected))));
    assert.equal(await fetchJson(handle, '/api/why?ref=best'), JSON.parse(JSON.stringify(whyCheckpoint(expected, 'best'))));
    const page = await rawGet(handle.url, '/');
    assert.is(page.status, 200);
  } finally {
    await handle.close();
  }
  assert.is(await readOwner(dir), null);
});

test('given a live owner process, when served beside it, then serve proxies the API and the stream to it, then takes over after SIGKILL with no gap', async () => {
  const owner = await startOwnerChild(dir, 4);
  const handle = await serve({ dir, port: 0 });
  try {
    assert.is(handle.mode(), 'proxy');
    const health = await fetchJson<{ role: string; ownerPid: number }>(handle, '/api/health');
    assert.is(health.role, 'proxy');
    assert.is(health.ownerPid, owner.pid);
    assert.equal(await fetchJson(handle, '/api/checkpoints'), await fetchJson(owner, '/api/checkpoints'));
    const direct = await collectSse(handle.url, '/api/events?from=1', caughtUp);
    assert.equal(eventSeqs(direct.messages), range(1, owner.lastSeq));

    const seen: number[] = [];
    const ac = new AbortController();
    let target = Number.POSITIVE_INFINITY;
    const following = (async () => {
      for await (const event of followEvents(handle, { from: 1, signal: ac.signal, retryMs: 100, retries: 50 })) {
        seen.push(event.seq);
        if (event.seq >= target) ac.abort();
      }
    })();
    following.catch(() => undefined); // awaited below; a failure before that must not crash the suite
    const { lastSeq } = (await owner.command('append run-2 3')) as { lastSeq: number };
    while (seen.length < lastSeq) await new Promise((r) => setTimeout(r, 10));
    owner.child.kill('SIGKILL');
    await owner.exited;
    // The ledger holds exactly what the dead owner appended durably; serve reopens it and goes on.
    const after = await fetchJson<{ role: string; lastSeq: number }>(handle, '/api/health');
    assert.is(after.role, 'owner');
    assert.is(handle.mode(), 'owner');
    target = after.lastSeq;
    if (seen.at(-1)! >= target) ac.abort();
    await following;
    assert.equal(seen, range(1, after.lastSeq), 'one sequence across the proxy, the kill and the takeover');
    assert.is(after.lastSeq, lastSeq);
    assert.is(JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')).pid, process.pid, 'serve now advertises itself');
  } finally {
    if (owner.child.exitCode === null && owner.child.signalCode === null) owner.child.kill('SIGKILL');
    await handle.close();
  }
});

test('given a port already in use, when serve starts, then SERVER_PORT_IN_USE and the directory is released', async () => {
  const ws = await openWorkspace(dir, { create: true });
  await ws.close();
  const first = await serve({ dir, port: 0 });
  try {
    let error: any;
    const other = mkdtempSync(join(tmpdir(), 'ckpt-server-serve2-'));
    const ws2 = await openWorkspace(other, { create: true });
    await ws2.close();
    try {
      await serve({ dir: other, port: first.port });
    } catch (e) {
      error = e;
    }
    assert.is(error?.code, 'SERVER_PORT_IN_USE');
    const again = await openWorkspace(other); // the failed serve released the lock
    await again.close();
    rmSync(other, { recursive: true, force: true });
  } finally {
    await first.close();
  }
});

test.run();
