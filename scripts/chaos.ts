/**
 * `npm run chaos -- --trials N [--seed S] [--kinds a,b] [--json] [--verbose]`: fault injection against real short
 * runs of `ckpt train`, recovered the way a user would (`ckpt train --resume`, and `ckpt repair` when a command
 * says so), then checked against an uninterrupted run of the same seed.
 *
 * Trial kinds (round-robin, parameters seeded): kill-trainer (SIGKILL the trainer; the supervisor restarts it),
 * kill-supervisor (SIGKILL the supervisor's process group), flip-blob (kill, then one byte of a blob flipped),
 * truncate-ldb (kill, a read turns the log into a table, half of every .ldb truncated), truncate-log (kill, the
 * write-ahead log truncated), garbage-manifest (kill, 64 bytes of garbage at the start of MANIFEST-*), full-disk
 * (the directory on a small tmpfs, nearly full; space freed afterwards).
 *
 * Per trial: recovered = the final `ckpt train` finished (exit 0); digest equal = its weights equal the
 * uninterrupted run's; committed lost = checkpoints committed and not pruned (nor with a prune under way) before the
 * fault that the final ledger does not know at all (any status); verify clean = `ckpt verify --all` exits 0 at the end (a flipped blob is
 * expected to leave one checkpoint corrupt, which verify reports: that is the truthful answer, not a failure).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seeded } from '../test/fixtures/run-helpers.js';
import { blobFiles, ckptRun, flipByte, garbage64, ledgerFiles, mountTmpfs, truncateTo, type CliRun } from './chaos-faults.js';

const KINDS = ['kill-supervisor', 'truncate-log', 'full-disk', 'kill-trainer', 'truncate-ldb', 'flip-blob', 'garbage-manifest'] as const;
type Kind = (typeof KINDS)[number];

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '14' }, seed: { type: 'string', default: '1' }, kinds: { type: 'string' },
    json: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
const kinds = (values.kinds ? values.kinds.split(',') : [...KINDS]) as Kind[];
for (const kind of kinds) if (!KINDS.includes(kind)) throw new Error(`unknown kind ${kind}; one of ${KINDS.join(', ')}`);

const TRAINER = new URL('../test/fixtures/run-fake-trainer.mjs', import.meta.url).pathname;
const EPOCHS = 6;
const TRAINER_CONFIG = { batchesPerEpoch: 3, batchMs: 25 };
const trainArgs = (dir: string) => ['train', '--dir', dir, '--trainer', TRAINER, '--epochs', String(EPOCHS), '--seed', '11', '--trainer-config', JSON.stringify(TRAINER_CONFIG)];
const say = (line: string) => values.json || process.stderr.write(`${line}\n`);

interface TrialResult { trial: number; kind: Kind; detail: string; recovered: boolean; digestEqual: boolean; lost: number; verifyClean: boolean; repairs: number; ms: number; note?: string }

const digestOf = (res: CliRun) => /finished at epoch \d+, step \d+, weights ([0-9a-f]{12})/.exec(res.stdout)?.[1] ?? null;

/** Committed checkpoints not pruned (nor being pruned) as `run/epoch/weightsDigest`, read from a copy (the original stays untouched). */
async function committed(dir: string, scratch: string): Promise<Set<string>> {
  const copy = join(scratch, 'snapshot');
  rmSync(copy, { recursive: true, force: true });
  cpSync(dir, copy, { recursive: true });
  // Opening as owner finishes prunes that were under way (intent recorded, blobs perhaps already unlinked):
  // their checkpoints were on their way out, not committed-and-kept.
  await ckptRun(['gc', '--dry-run', '--dir', copy]);
  const res = await ckptRun(['ls', '--all', '--json', '--dir', copy]);
  rmSync(copy, { recursive: true, force: true });
  return factsOf(res, (s) => s !== 'pruned');
}

function factsOf(res: CliRun, keep: (status: string) => boolean): Set<string> {
  if (res.code !== 0) return new Set();
  const rows = JSON.parse(res.stdout) as { run: string; epoch: number; weightsDigest: string; status: string }[];
  return new Set(rows.filter((r) => keep(r.status)).map((r) => `${r.run}/${r.epoch}/${r.weightsDigest}`));
}

/** What a user does: resume; when a command names `ckpt repair`, run it and resume again. */
async function recover(dir: string, first: CliRun | null): Promise<{ final: CliRun; repairs: number }> {
  let last = first;
  let repairs = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (last && last.code === 0 && digestOf(last)) return { final: last, repairs };
    if (last && /npx ckpt repair/.test(last.stderr + last.stdout)) {
      const repaired = await ckptRun(['repair', '--dir', dir]);
      repairs++;
      if (repaired.code !== 0) return { final: repaired, repairs };
    }
    last = await ckptRun([...trainArgs(dir), '--resume']);
  }
  return { final: last!, repairs };
}

async function trial(n: number, kind: Kind, random: () => number, reference: string, scratch: string): Promise<TrialResult> {
  const started = Date.now();
  const dir = join(scratch, `trial-${n}`);
  // Line 1 is the run's start, line k+1 the k-th save decision; a blob flip needs a commit before the kill.
  const killLine = (kind === 'flip-blob' ? 3 : 2) + Math.floor(random() * (EPOCHS - 1));
  let detail = '';
  let before = new Set<string>();
  let first: CliRun | null = null;
  let unmount: (() => void) | null = null;
  try {
    if (kind === 'full-disk') {
      mkdirSync(dir, { recursive: true });
      const size = 768 * 1024;
      unmount = mountTmpfs(dir, size);
      const free = 8 * 1024 + Math.floor(random() * 40 * 1024);
      writeFileSync(join(dir, 'filler'), Buffer.alloc(size - free));
      first = await ckptRun(trainArgs(join(dir, 'c')));
      const full = /ENOSPC|no space/i.test(first.stdout + first.stderr);
      detail = `tmpfs 768 KiB, ${Math.round(free / 1024)} KiB free; first run exit ${first.code}${full ? ', ENOSPC met' : ', disk never full'}`;
      before = await committed(join(dir, 'c'), scratch);
      rmSync(join(dir, 'filler'));
      const { final, repairs } = await recover(join(dir, 'c'), first.code === 0 ? first : null);
      return await finish(join(dir, 'c'), final, repairs);
    }
    const killed = await ckptRun(trainArgs(dir), { kill: { line: killLine, what: kind === 'kill-trainer' ? 'trainer' : 'group' } });
    detail = `SIGKILL ${kind === 'kill-trainer' ? 'trainer' : 'group'} after line ${killLine}${killed.killed ? '' : ' (run ended first)'}`;
    if (kind === 'kill-trainer') {
      before = await committed(dir, scratch);
      const { final, repairs } = await recover(dir, killed);
      return await finish(dir, final, repairs);
    }
    before = await committed(dir, scratch);
    if (kind === 'flip-blob') {
      // A blob of the newest kept checkpoint (its manifest or a weight), so the resume must fall back.
      const shown = await ckptRun(['show', 'latest', '--json', '--dir', dir]);
      const latest = shown.code === 0 ? (JSON.parse(shown.stdout) as { id: string; manifest: string }) : null;
      const blobs = blobFiles(dir);
      const manifestFile = latest && blobs.find((f) => f.endsWith(latest.manifest.slice(2)));
      if (latest && manifestFile) {
        const weight = (JSON.parse(readFileSync(manifestFile, 'utf8')) as { objects: { model: { weights: { blob: string }[] } } }).objects.model.weights[0].blob;
        const target = random() < 0.5 ? latest.manifest : weight;
        flipByte(blobs.find((f) => f.endsWith(target.slice(2)))!, random());
        detail += `; flipped a byte of ${latest.id}'s ${target === weight ? 'weights' : 'manifest'} blob`;
      } else {
        const file = blobs[Math.floor(random() * blobs.length)];
        if (file) flipByte(file, random());
        detail += `; no readable latest (${latest ? `${latest.id}'s manifest is not in objects/` : shown.stderr.trim()}): flipped a byte of ${file ? 'a random blob' : 'nothing (no blobs)'}`;
      }
    } else if (kind === 'truncate-ldb') {
      await ckptRun(['ls', '--dir', dir]);
      const tables = ledgerFiles(dir, /\.ldb$/);
      for (const table of tables) truncateTo(table, 0.5);
      detail += `; half of ${tables.length} .ldb truncated`;
    } else if (kind === 'truncate-log') {
      const fraction = 0.2 + random() * 0.7;
      for (const log of ledgerFiles(dir, /^\d+\.log$/)) truncateTo(log, fraction);
      detail += `; .log truncated to ${Math.round(fraction * 100)}%`;
    } else if (kind === 'garbage-manifest') {
      for (const manifest of ledgerFiles(dir, /^MANIFEST-\d+$/)) garbage64(manifest, random);
      detail += '; 64 bytes of garbage in MANIFEST';
    }
    const { final, repairs } = await recover(dir, null);
    return await finish(dir, final, repairs);
  } finally {
    unmount?.();
  }

  async function finish(at: string, final: CliRun, repairs: number): Promise<TrialResult> {
    const after = factsOf(await ckptRun(['ls', '--all', '--json', '--dir', at]), () => true);
    const lost = [...before].filter((fact) => !after.has(fact)).length;
    const verify = await ckptRun(['verify', '--all', '--dir', at]);
    const digest = digestOf(final);
    const result: TrialResult = {
      trial: n, kind, detail, recovered: final.code === 0 && digest !== null, digestEqual: digest === reference, lost,
      verifyClean: verify.code === 0, repairs, ms: Date.now() - started,
      ...(final.code !== 0 ? { note: (final.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200) } : {}),
    };
    if (values.verbose || !result.recovered || !result.digestEqual || lost > 0) say(`  #${n} ${kind}: ${detail} → ${JSON.stringify({ ...result, kind: undefined, detail: undefined, trial: undefined })}`);
    return result;
  }
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'ckpt-chaos-'));
  const random = seeded(seed);
  const t0 = Date.now();
  try {
    const ref = await ckptRun(trainArgs(join(scratch, 'reference')));
    const reference = digestOf(ref);
    if (!reference) throw new Error(`the uninterrupted reference run failed: ${ref.stderr}`);
    say(`chaos: ${trials} trials, seed ${seed}; trainer test/fixtures/run-fake-trainer.mjs (deterministic JS protocol-v1 trainer: ${EPOCHS} epochs × ${TRAINER_CONFIG.batchesPerEpoch} batches, ${TRAINER_CONFIG.batchMs} ms/batch), policy normal; reference weights ${reference}`);
    const results: TrialResult[] = [];
    for (let n = 1; n <= trials; n++) results.push(await trial(n, kinds[(n - 1) % kinds.length], random, reference, scratch));
    report(results, Date.now() - t0);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function report(results: TrialResult[], ms: number): void {
  const rows = [...kinds.filter((k) => results.some((r) => r.kind === k)), 'total'].map((kind) => {
    const of = results.filter((r) => kind === 'total' || r.kind === kind);
    return {
      kind, trials: of.length, recovered: of.filter((r) => r.recovered).length, digestEqual: of.filter((r) => r.digestEqual).length,
      committedLost: of.reduce((n, r) => n + r.lost, 0), verifyClean: of.filter((r) => r.verifyClean).length, repairs: of.reduce((n, r) => n + r.repairs, 0),
    };
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ seed, trials: results.length, ms, rows, results }) + '\n');
    return;
  }
  const head = ['kind', 'trials', 'recovered', 'digest equal', 'committed lost', 'verify clean', 'repairs'];
  const cells = rows.map((r) => [r.kind, r.trials, r.recovered, r.digestEqual, r.committedLost, r.verifyClean, r.repairs].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  process.stdout.write([line(head), ...cells.map(line)].join('\n') + `\n${(ms / 1000).toFixed(0)} s\n`);
}

await main();
