import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerEvent } from '../ledger/types.js';
import { openWorkspace, type Workspace } from '../src/store/index.js';
import { serve, startOwnerServer, type OwnerServer } from '../src/server/index.js';
import { send } from './dashboard.helpers-http.js';
import { ckpt, ckptAsync } from './cli.helpers.js';
import { meta, modelState, tempDir } from './store.fixtures.js';

const TOKEN = 'write-token-5e1f0c';
const JSON_TYPE = { 'content-type': 'application/json' };
let dir: string;
let cleanup: () => Promise<void>;
let ws: Workspace;
let server: OwnerServer;

test.before.each(async () => {
  ({ dir, cleanup } = await tempDir('dashboard-writes'));
  ws = await openWorkspace(dir, { create: true });
  for (const [epoch, val_loss] of [[1, 0.5], [2, 0.4], [3, 0.45]] as const) await ws.store.commit(modelState(epoch, epoch), meta('run-1', epoch, { val_loss }));
  server = await startOwnerServer(ws, { page: true, writeToken: TOKEN });
});
test.after.each(async () => {
  await server.close();
  await ws.close();
  await cleanup();
});

const act = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  send(server.url, `/api/actions/${name}`, { body, headers: { ...JSON_TYPE, 'x-ckpt-token': TOKEN, ...headers } });

async function eventsOf(type: string): Promise<LedgerEvent[]> {
  const out: LedgerEvent[] = [];
  for await (const e of ws.ledger.read({ types: [type] })) out.push(e);
  return out;
}

test('given a write-enabled server, when each unsafe request comes, then it is refused with its status and stable code and the ledger is unchanged', async () => {
  const before = ws.ledger.lastSeq;
  const port = new URL(server.url).port;
  const refusals: [string, Promise<{ status: number; json(): any }>, number, string][] = [
    ['GET never writes', send(server.url, '/api/actions/pin?ref=ckpt-1', { method: 'GET' }), 405, 'SERVER_METHOD_NOT_ALLOWED'],
    ['no token', send(server.url, '/api/actions/pin', { body: { ref: 'ckpt-1' }, headers: JSON_TYPE }), 401, 'SERVER_UNAUTHORIZED'],
    ['wrong token', act('pin', { ref: 'ckpt-1' }, { 'x-ckpt-token': 'guessed-token-000000' }), 401, 'SERVER_UNAUTHORIZED'],
    ['token only in the query', send(server.url, `/api/actions/pin?token=${TOKEN}`, { body: { ref: 'ckpt-1' }, headers: JSON_TYPE }), 401, 'SERVER_UNAUTHORIZED'],
    ['token only in a cookie', send(server.url, '/api/actions/pin', { body: { ref: 'ckpt-1' }, headers: { ...JSON_TYPE, cookie: `ckpt_token=${TOKEN}` } }), 401, 'SERVER_UNAUTHORIZED'],
    ['cross-site Origin', act('pin', { ref: 'ckpt-1' }, { origin: 'http://evil.example' }), 403, 'SERVER_CROSS_ORIGIN'],
    ['other port on loopback', act('pin', { ref: 'ckpt-1' }, { origin: 'http://127.0.0.1:1' }), 403, 'SERVER_CROSS_ORIGIN'],
    ['Sec-Fetch-Site cross-site', act('pin', { ref: 'ckpt-1' }, { 'sec-fetch-site': 'cross-site' }), 403, 'SERVER_CROSS_ORIGIN'],
    ['DNS rebinding Host', act('pin', { ref: 'ckpt-1' }, { host: `evil.example:${port}` }), 403, 'SERVER_FORBIDDEN'],
    ['form post', act('pin', 'ref=ckpt-1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'SERVER_UNSUPPORTED_MEDIA_TYPE'],
    ['POST to a read route', send(server.url, '/api/runs', { body: {}, headers: { ...JSON_TYPE, 'x-ckpt-token': TOKEN } }), 405, 'SERVER_METHOD_NOT_ALLOWED'],
    ['unknown action', act('delete', { ref: 'ckpt-1' }), 404, 'SERVER_NOT_FOUND'],
    ['unknown ref', act('pin', { ref: 'ckpt-99' }), 404, 'CLI_REF_UNKNOWN'],
    ['prune without a reason', act('prune', { ref: 'ckpt-1' }), 400, 'SERVER_BAD_REQUEST'],
    ['not JSON', act('pin', '{ref:'), 400, 'SERVER_BAD_REQUEST'],
  ];
  for (const [what, pending, status, code] of refusals) {
    const answer = await pending;
    assert.is(answer.status, status, what);
    assert.is(answer.json().error.code, code, what);
  }
  assert.is(ws.ledger.lastSeq, before, 'nothing was appended');
});

test('given a server started read-only (--read-only), when the page POSTs an action with the token, then 405 SERVER_READ_ONLY and health says read-only', async () => {
  const readOnly = await startOwnerServer(ws, { page: true, readOnly: true, writeToken: TOKEN, advertise: false });
  try {
    const answer = await send(readOnly.url, '/api/actions/pin', { body: { ref: 'ckpt-1' }, headers: { ...JSON_TYPE, 'x-ckpt-token': TOKEN } });
    assert.is(answer.status, 405);
    assert.is(answer.json().error.code, 'SERVER_READ_ONLY');
    assert.is((await send(readOnly.url, '/api/health', { method: 'GET' })).json().writes, 'read-only');
    assert.is(readOnly.pageUrl, `${readOnly.url}/`, 'no token printed when nothing can be written');
  } finally {
    await readOnly.close();
  }
});

test('given a page acting with the token, when it pins, tags, describes and prunes, then the ledger holds the same events `ckpt pin/tag/prune` append', async () => {
  assert.is(server.pageUrl, `${server.url}/?token=${TOKEN}`);
  assert.is((await act('pin', { ref: 'best', reason: 'shipped' })).json().checkpoint, 'ckpt-2');
  assert.equal((await act('tag', { ref: 'ckpt-1', tags: ['baseline'], description: 'first' })).json(), { checkpoint: 'ckpt-1', tags: ['baseline'], description: 'first' });
  const pinnedPrune = await act('prune', { ref: 'ckpt-2', reason: 'too big' });
  assert.is(pinnedPrune.status, 409);
  assert.is(pinnedPrune.json().error.code, 'STORE_PINNED');
  const pruned = (await act('prune', { ref: 'ckpt-1', reason: 'diverged' })).json();
  assert.is(pruned.checkpoint, 'ckpt-1');
  const intent = (await eventsOf('PruneIntended'))[0].data as { rule: string; reason: string; checkpoint: string };
  assert.is(intent.rule, 'manual');
  assert.match(intent.reason, /^diverged \(by .+ via the dashboard\)$/);
  assert.equal((await eventsOf('CheckpointPinned')).map((e) => e.data), [{ checkpoint: 'ckpt-2', reason: 'shipped' }]);
  // The CLI twin, on the same directory once the server is gone, appends the same event shape.
  await server.close();
  await ws.close();
  const cli = ckpt(['pin', 'ckpt-3', '--reason', 'shipped', '--dir', dir, '--json']);
  assert.is(cli.code, 0, cli.stderr);
  ws = await openWorkspace(dir);
  server = await startOwnerServer(ws, { advertise: false });
  assert.equal((await eventsOf('CheckpointPinned')).map((e) => [e.stream, e.data]), [['run-1', { checkpoint: 'ckpt-2', reason: 'shipped' }], ['run-1', { checkpoint: 'ckpt-3', reason: 'shipped' }]]);
});

test('given a blob flipped on disk, when the page verifies all, then progress arrives per checkpoint and the corrupt one is recorded', async () => {
  const manifest = ws.store.entry('ckpt-2').blobs;
  const blob = manifest.find((hash) => ws.store.entry('ckpt-1').blobs.indexOf(hash) < 0 && ws.store.entry('ckpt-3').blobs.indexOf(hash) < 0)!;
  const path = join(dir, 'objects', blob.slice(0, 2), blob.slice(2));
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(path, bytes);
  const answer = await act('verify', {});
  assert.is(answer.status, 200);
  const lines = answer.body.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.slice(0, 3).map((l) => [l.type, l.done, l.total, l.result.checkpoint, l.result.ok]), [
    ['progress', 1, 3, 'ckpt-1', true], ['progress', 2, 3, 'ckpt-2', false], ['progress', 3, 3, 'ckpt-3', true],
  ]);
  assert.equal({ ...lines[3], results: undefined }, { type: 'done', ok: false, checked: 3, failed: ['ckpt-2'], results: undefined });
  assert.equal((await eventsOf('CheckpointCorrupted')).map((e) => (e.data as { checkpoint: string }).checkpoint), ['ckpt-2']);
});

test('given two checkpoints, when the page asks /api/diff, then it answers exactly what `ckpt diff --json` prints (read through this owner)', async () => {
  const api = (await send(server.url, '/api/diff?a=ckpt-1&b=ckpt-3', { method: 'GET' })).json();
  const cli = await ckptAsync(['diff', 'ckpt-1', 'ckpt-3', '--dir', dir, '--json']).done; // async: this process serves it
  assert.is(cli.code, 0, cli.stderr);
  assert.equal(api, JSON.parse(cli.stdout));
  assert.is(api.tensors.length, 2);
  assert.ok(api.tensors[0].l2 > 0);
});

test('given an export request, when the page downloads safetensors, then the bytes are the store export and CheckpointExported is recorded', async () => {
  const answer = await act('export', { ref: 'ckpt-3', format: 'safetensors' });
  assert.is(answer.status, 200);
  assert.match(String(answer.headers['content-disposition']), /attachment; filename="ckpt-3\.safetensors"/);
  const headerLength = Number(answer.body.readBigUInt64LE(0));
  const header = JSON.parse(answer.body.subarray(8, 8 + headerLength).toString('utf8'));
  assert.equal(header['dense/bias'].shape, [3]);
  assert.is(header.__metadata__['ckpt.checkpoint'], 'ckpt-3');
  const exported = (await eventsOf('CheckpointExported')).map((e) => e.data as { checkpoint: string; format: string; path: string });
  assert.equal(exported.map((e) => [e.checkpoint, e.format]), [['ckpt-3', 'safetensors']]);
  assert.match(exported[0].path, /ckpt-download-/);
});

test('given `ckpt serve` beside a live owner, when the page POSTs an action there, then 409 LEDGER_LOCKED as `ckpt pin` beside a run', async () => {
  const beside = await serve({ dir, port: 0, writeToken: TOKEN });
  try {
    assert.is(beside.mode(), 'proxy');
    const answer = await send(beside.url, '/api/actions/pin', { body: { ref: 'ckpt-1' }, headers: { ...JSON_TYPE, 'x-ckpt-token': TOKEN } });
    assert.is(answer.status, 409);
    assert.is(answer.json().error.code, 'LEDGER_LOCKED');
    assert.is((await send(beside.url, '/api/health', { method: 'GET' })).json().writes, 'owner-elsewhere');
  } finally {
    await beside.close();
  }
});

test.run();
