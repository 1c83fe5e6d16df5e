#!/usr/bin/env node
// `npm test`: typecheck, build, then every uvu suite under test/ (each file in its own process, two at a
// time, each run once: a suite that fails fails), ending with one line `N passed, M failed` that CI reads. A
// suite that dies before printing uvu's summary counts as one failure. `npm test -- ledger` runs only the files
// whose name contains "ledger".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, Math.min(2, cpus().length)));
// A suite alone takes at most ~2 min on a quiet 2-core machine; refs.contract took 8 min on one loaded 6× over.
const suiteTimeoutMs = Number(process.env.TEST_TIMEOUT_MS ?? 12 * 60_000);

function run(cmd, args, { capture = false, timeoutMs = 0 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: process.env });
    let out = '';
    if (capture) {
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
    }
    const timer = timeoutMs ? setTimeout(() => { out += `\n[test runner] timed out after ${timeoutMs} ms\n`; child.kill('SIGKILL'); }, timeoutMs) : null;
    child.on('close', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code: code ?? 1, signal, out }); });
  });
}

function findSuites(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findSuites(path));
    else if (/\.test\.(ts|mjs|js)$/.test(name)) found.push(path);
  }
  return found.sort();
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
const failures = [];
const started = Date.now();

const tsc = await run('npx', ['tsc', '--noEmit'], { capture: true });
if (tsc.code === 0) { passed++; console.log('ok   typecheck'); }
else { failed++; failures.push('typecheck'); console.log('FAIL typecheck\n' + tsc.out); }

const build = await run('npx', ['tsup', '--silent'], { capture: true });
if (build.code === 0) { passed++; console.log('ok   build'); }
else { failed++; failures.push('build'); console.log('FAIL build\n' + build.out); }

const suites = findSuites(join(root, "test")).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)));
const queue = [...suites];
async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const name = relative(root, file);
    const t0 = Date.now();
    const res = await run(process.execPath, ['--import', 'tsx', file], { capture: true, timeoutMs: suiteTimeoutMs });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const { total, ok, bad, text } = summarise(res);
    if (Number.isNaN(total) || Number.isNaN(ok)) {
      failed++;
      failures.push(name);
      console.log(`FAIL ${name} (no uvu summary, exit ${res.code}${res.signal ? ' ' + res.signal : ''}, ${secs}s)\n${text}`);
      continue;
    }
    passed += ok;
    failed += total - ok;
    if (bad && total - ok === 0) { failed++; }
    if (bad) failures.push(name);
    // Every case passed and still bad: the process itself failed (exit code), say how.
    const exit = bad && total === ok ? `, exit ${res.code}${res.signal ? ' ' + res.signal : ''}` : '';
    console.log(`${bad ? 'FAIL' : 'ok  '} ${name} ${ok}/${total} (${secs}s${exit})`);
    if (bad) console.log(text);
  }
}

/** uvu's own counts of one suite run; `bad` when a test failed, the summary is missing or the exit code is not 0. */
function summarise(res) {
  const text = strip(res.out);
  const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  return { text, total, ok, bad: Number.isNaN(total) || Number.isNaN(ok) || total - ok > 0 || res.code !== 0 };
}
await Promise.all(Array.from({ length: concurrency }, worker));

console.log(`\n${suites.length} suite files in ${((Date.now() - started) / 1000).toFixed(0)} s${failures.length ? '; failing: ' + failures.join(', ') : ''}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
