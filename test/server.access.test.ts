import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryLedger } from '../ledger/index.js';
import type { Ledger } from '../ledger/types.js';
import { CkptError } from '../src/errors.js';
import { LedgerError } from '../ledger/errors.js';
import { startHttpShell } from '../src/server/http-server.js';
import { fetchJson, pageDir, resolveStaticPath, startOwnerServer } from '../src/server/index.js';
import { fillLedger } from './server.fixture.js';
import { caughtUp, collectSse, rawGet } from './server.helpers.js';

let dir: string;
let ledger: Ledger;
const TOKEN = 'tok-3f9c1a7e5b';

test.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ckpt-server-access-'));
  ledger = await openMemoryLedger();
  await fillLedger(ledger, { epochs: 4 });
});
test.after.each(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

test('given a non-loopback host, when started without a token, then it refuses with SERVER_TOKEN_REQUIRED and binds nothing', async () => {
  let error: unknown;
  try {
    await startOwnerServer({ dir, ledger }, { host: '0.0.0.0', port: 0 });
  } catch (e) {
    error = e;
  }
  assert.instance(error, CkptError);
  assert.is((error as CkptError).code, 'SERVER_TOKEN_REQUIRED');
  assert.throws(() => readFileSync(join(dir, 'owner.json')), /ENOENT/);
});

test('given a server off loopback with a token, when requests come with no, wrong, header or query token, then only the right token passes, SSE included', async () => {
  const server = await startOwnerServer({ dir, ledger }, { host: '0.0.0.0', port: 0, token: TOKEN, page: true });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/api/runs', '/api/events?from=1', '/', '/app.js', '/api/health']) {
      const none = await rawGet(base, path);
      assert.is(none.status, 401, `${path} without token`);
      assert.is(JSON.parse(none.body).error.code, 'SERVER_UNAUTHORIZED');
      assert.is((await rawGet(base, path, { authorization: 'Bearer wrong-token-00' })).status, 401, `${path} wrong token`);
    }
    const viaHeader = await rawGet(base, '/api/runs', { authorization: `Bearer ${TOKEN}` });
    assert.is(viaHeader.status, 200);
    assert.is(JSON.parse(viaHeader.body)[0].id, 'run-1');
    assert.is((await rawGet(base, `/api/summary?token=${TOKEN}`)).status, 200);
    const pageWithToken = await rawGet(base, `/?token=${TOKEN}`);
    assert.is(pageWithToken.status, 200);
    const cookie = String(pageWithToken.headers['set-cookie']);
    assert.match(cookie, /ckpt_token=.*HttpOnly.*SameSite=Strict/);
    assert.is((await rawGet(base, '/app.js', { cookie: cookie.split(';')[0] })).status, 200, 'the page cookie authorises its subresources');
    assert.is((await rawGet(base, '/app.js', { cookie: 'ckpt_token=nope' })).status, 401);
    const sse = await collectSse(base, `/api/events?from=1&token=${TOKEN}`, caughtUp);
    assert.is(sse.status, 200);
    assert.is(sse.messages.filter((m) => m.event === 'message').length, ledger.lastSeq);
    const owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    assert.is(owner.token, TOKEN, 'owner.json carries the token so local clients can read through it');
    const runs = await fetchJson<{ id: string }[]>({ url: base, token: TOKEN }, '/api/runs');
    assert.is(runs[0].id, 'run-1');
  } finally {
    await server.close();
  }
});

test('given a loopback server without token, when a request names a foreign Host (DNS rebinding), then it is refused', async () => {
  const server = await startOwnerServer({ dir, ledger }, { page: true });
  try {
    assert.is((await rawGet(server.url, '/api/runs', { host: 'evil.example.com' })).status, 403);
    assert.is((await rawGet(server.url, '/api/runs', { host: `localhost:${server.port}` })).status, 200);
    assert.is((await rawGet(server.url, '/api/runs')).status, 200);
  } finally {
    await server.close();
  }
});

test('given the read-only server, when a client POSTs, PUTs or DELETEs, then 405 and the ledger is unchanged', async () => {
  const server = await startOwnerServer({ dir, ledger }, { page: true });
  const before = ledger.lastSeq;
  try {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await rawGet(server.url, '/api/runs', {}, method);
      assert.is(res.status, 405, method);
      assert.is(JSON.parse(res.body).error.code, 'SERVER_READ_ONLY');
    }
    assert.is(ledger.lastSeq, before);
  } finally {
    await server.close();
  }
});

test('given the page server, when paths try to escape the page folder, then every one is refused and no outside file leaks', async () => {
  const server = await startOwnerServer({ dir, ledger }, { page: true });
  const secret = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  try {
    const attempts = [
      '/../package.json', '/../../../package.json', '/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/..%5c..%5c..%5cpackage.json', '/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json', '/..%252f..%252fpackage.json',
      '/index.html%00.js', '//etc/passwd', '/%2fetc%2fpasswd', '/vendor/uplot/../../../../package.json', '/.hidden', '/%E0%A4%A',
    ];
    for (const path of attempts) {
      const res = await rawGet(server.url, path);
      assert.ok(res.status === 404 || res.status === 400, `${path} → ${res.status}`);
      assert.not.ok(res.body.includes('"name": "ckpt"') || res.body.includes('root:x:0'), `${path} leaked a file`);
      assert.is.not(res.body, secret);
    }
    const page = await rawGet(server.url, '/');
    assert.is(page.status, 200);
    assert.match(page.body, /<script type="module" src="app.js">/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const uplot = await rawGet(server.url, '/vendor/uplot/uPlot.esm.js');
    assert.is(uplot.status, 200);
    assert.match(String(uplot.headers['content-type']), /javascript/);
    assert.is((await rawGet(server.url, '/vendor/uplot/package.json')).status, 404, 'only the two fixed vendor files');
  } finally {
    await server.close();
  }
});

test('given a symlink inside the page folder pointing outside, when resolved, then it is refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'ckpt-page-'));
  try {
    writeFileSync(join(root, 'ok.js'), 'ok');
    symlinkSync(join(dir), join(root, 'escape'));
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    assert.is(resolveStaticPath(root, '/ok.js'), join(root, 'ok.js'));
    assert.is(resolveStaticPath(root, '/escape/secret.txt'), null);
    assert.is(resolveStaticPath(root, '/missing.js'), null);
    assert.ok(resolveStaticPath(pageDir(), '/') !== null, 'index.html is the folder default');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('given an unknown API path or a bad ref, when requested, then a JSON error with a stable code and 404', async () => {
  const server = await startOwnerServer({ dir, ledger });
  try {
    const missing = await rawGet(server.url, '/api/nope');
    assert.is(missing.status, 404);
    assert.is(JSON.parse(missing.body).error.code, 'SERVER_NOT_FOUND');
    const badRef = await rawGet(server.url, '/api/why?ref=ckpt-999');
    assert.is(badRef.status, 404);
    assert.is(JSON.parse(badRef.body).error.code, 'CLI_REF_UNKNOWN');
    const noRef = await rawGet(server.url, '/api/why');
    assert.is(noRef.status, 400);
    assert.is((await rawGet(server.url, '/')).status, 404, 'page: false serves no page');
  } finally {
    await server.close();
  }
});

test('given a fresh owner, when many first requests arrive at once, then all succeed with the same answer', async () => {
  const server = await startOwnerServer({ dir, ledger });
  try {
    const bodies = await Promise.all(Array.from({ length: 12 }, (_, i) => fetchJson(server, i % 2 ? '/api/summary' : '/api/checkpoints?all=1')));
    assert.equal(bodies.filter((_, i) => i % 2), Array(6).fill(bodies[1]));
    assert.equal(bodies.filter((_, i) => !(i % 2)), Array(6).fill(bodies[0]));
    assert.ok((bodies[0] as unknown[]).length > 0);
  } finally {
    await server.close();
  }
});

test('given API errors of each kind, when answered, then the code is kept and the status says whose problem it is', async () => {
  const thrown: Record<string, unknown> = {
    '/api/mistake': new CkptError('CLI_USAGE', 'ref is required'),
    '/api/gone': new LedgerError('LEDGER_CLOSED', 'ledger closed'),
    '/api/corrupt': new LedgerError('LEDGER_CORRUPT', 'record 7 is missing'),
    '/api/bug': new TypeError('x is undefined'),
  };
  const shell = await startHttpShell({ page: false }, (_req, _res, url) => { throw thrown[url.pathname]; });
  try {
    const answer = async (path: string) => {
      const { status, body } = await rawGet(shell.url, path);
      return [status, JSON.parse(body).error.code];
    };
    assert.equal(await answer('/api/mistake'), [400, 'CLI_USAGE']);
    assert.equal(await answer('/api/gone'), [503, 'LEDGER_CLOSED']);
    assert.equal(await answer('/api/corrupt'), [500, 'LEDGER_CORRUPT']);
    assert.equal(await answer('/api/bug'), [500, 'SERVER_INTERNAL']);
  } finally {
    await shell.close();
  }
});

test.run();
