/**
 * `npm run bench [-- --json] [-- --only ledger,store]`: every benchmark, one after another (each in its own
 * process, each with its own same-run baseline), then one table: figure, value, target, pass. With `--json`, one
 * object `{ figures: [{bench, figure, value, target, pass}], benches: {<bench>: <its own --json object>} }`; the
 * figure names are the benches' own JSON field names, so figures can be tracked from landing to landing.
 * A bench that cannot run here (e.g. bench:scale without PostgreSQL) is listed with its error instead of figures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const json = argv.includes('--json');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;

/** A headline figure of one bench: where it is in the bench's JSON and what it must reach. */
interface Figure { figure: string; target?: string; pass?: (value: number, out: Record<string, any>) => boolean }
interface Bench { name: string; script: string; args?: string[]; figures: Figure[] }

const atLeast = (x: number) => (v: number) => v >= x;
const atMost = (x: number) => (v: number) => v <= x;

const BENCHES: Bench[] = [
  { name: 'ledger', script: 'bench-ledger.ts', figures: [
    { figure: 'appendEncodedRatio', target: '>= 0.85', pass: atLeast(0.85) },
    { figure: 'appendRatio' },
    { figure: 'durableRatio', target: '<= 2', pass: atMost(2) },
    { figure: 'replayRatio', target: '>= 0.8', pass: atLeast(0.8) },
    { figure: 'restoreMs1M', target: '< 100', pass: (v) => v < 100 },
    { figure: 'tailP99Ms', target: '<= 5', pass: atMost(5) },
  ] },
  { name: 'policy', script: 'bench-policy.ts', figures: [
    { figure: 'foldedEventsPerSec', target: '>= 1000000', pass: atLeast(1e6) },
    { figure: 'foldedEventsPerSecSaveEveryEpoch', target: '>= 1000000', pass: atLeast(1e6) },
    { figure: 'eventsPerSecSaveEveryEpoch' },
  ] },
  { name: 'store', script: 'bench-store.ts', figures: [
    { figure: 'saveRatio', target: '>= 0.8', pass: atLeast(0.8) },
    { figure: 'loadRatio', target: '>= 0.8', pass: atLeast(0.8) },
    { figure: 'dedupe', target: '<= 1.2', pass: atMost(1.2) },
  ] },
  { name: 'train', script: 'bench-train.ts', figures: [
    { figure: 'overheadRatio', target: '<= 1.02', pass: atMost(1.02) },
    { figure: 'overheadRatioP25' },
    { figure: 'overheadRatioP75' },
    { figure: 'cpuRatio' },
    { figure: 'resumeMs' },
  ] },
  { name: 'tail', script: 'bench-tail.ts', figures: [{ figure: 'tailP99Ms', target: '<= 50', pass: atMost(50) }] },
  { name: 'big', script: 'bench-big.ts', figures: [
    { figure: 'stallRatio', target: '<= 2', pass: atMost(2) },
    { figure: 'saveRatio', target: '>= 0.7', pass: atLeast(0.7) },
    { figure: 'supervisorRssRatio', target: '<= 1.5', pass: atMost(1.5) },
    { figure: 'resumeRatio', target: '>= 0.7', pass: atLeast(0.7) },
  ] },
  { name: 'scale', script: 'bench-scale.ts', figures: [
    { figure: 'appendRatio', target: '>= 0.7', pass: atLeast(0.7) },
    { figure: 'durableRatio', target: '<= 1.5', pass: atMost(1.5) },
    { figure: 'tailP99Ms', target: '<= 50', pass: atMost(50) },
    { figure: 's3SaveRatio', target: '>= 0.8', pass: atLeast(0.8) },
  ] },
];

/** Run one bench with --json; its last stdout line is its JSON object. */
function runBench(bench: Bench): Promise<{ out?: Record<string, any>; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${bench.script}`, '--json', ...(bench.args ?? [])], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', () => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ out: JSON.parse(last) });
      } catch {
        resolve({ error: (stderr.trim().split('\n').at(-1) ?? '') || `no JSON from ${bench.script}` });
      }
    });
  });
}

/** A headline figure is a top-level number of its bench's JSON. */
const valueOf = (out: Record<string, any>, figure: string): number | undefined => (typeof out[figure] === 'number' ? out[figure] : undefined);

const rows: { bench: string; figure: string; value: number | string; target: string; pass: boolean | null }[] = [];
const benches: Record<string, unknown> = {};
for (const bench of BENCHES) {
  if (only && !only.includes(bench.name)) continue;
  if (!existsSync(`${root}scripts/${bench.script}`)) continue;
  if (!json) process.stderr.write(`running bench:${bench.name}…\n`);
  const { out, error } = await runBench(bench);
  if (!out) {
    rows.push({ bench: bench.name, figure: '(did not run)', value: error ?? '', target: '', pass: null });
    benches[bench.name] = { error };
    continue;
  }
  benches[bench.name] = out;
  if (typeof out.error === 'string') rows.push({ bench: bench.name, figure: `(failed at ${out.sizeMiB ?? '?'} MiB)`, value: out.error, target: '', pass: false });
  for (const f of bench.figures) {
    const value = valueOf(out, f.figure);
    if (value === undefined) continue;
    rows.push({ bench: bench.name, figure: f.figure, value, target: f.target ?? '', pass: f.pass ? f.pass(value, out) : null });
  }
}

if (json) {
  console.log(JSON.stringify({ figures: rows, benches }));
} else {
  const shown = (v: number | string): string => (typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(4))) : String(v));
  const table = [['bench', 'figure', 'value', 'target', 'pass'], ...rows.map((r) => [r.bench, r.figure, shown(r.value), r.target, r.pass === null ? '' : r.pass ? 'PASS' : 'MISS'])];
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const r of table) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
}
process.exitCode = rows.every((r) => r.pass !== false) ? 0 : 1;
