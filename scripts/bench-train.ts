/**
 * `npm run bench:train [-- --json] [-- --pairs N] [-- --epochs N] [-- --trainer mnist-mlp]`: what checkpointing
 * costs a real training run.
 *
 * The same mnist-mlp run (fixed epochs and seed) is timed, alternately, (a) under the full supervisor with
 * per-epoch checkpointing + ledger (`train()` with the `normal` policy: a save every epoch, top-K retention) and
 * (b) with checkpointing off: the bare trainer driven by the protocol host (hello → start → done → exit), no
 * ledger, no store, no policy. Each pair runs in alternating order so machine drift cancels.
 * overheadRatio = median over pairs of wall(a)/wall(b) — target <= 1.02 — printed with its spread (quartiles and
 * range of the pair ratios; 11 pairs by default: with 7, two runs minutes apart read 1.001 and 1.046 on this machine,
 * and an A/A calibration read 1.014). cpuRatio = median over pairs of the CPU time of supervisor +
 * trainer (children's CPU from /proc/self/stat), which a busy shared machine distorts less than wall time.
 * One discarded warm-up run first (`--no-warmup` to skip). `--aa`: both sides without checkpointing (the noise floor). resumeMs: from calling `train({resume: true})` on a crashed run to its first resumed training step
 * (first BatchEnded after RunResumed). backend: what the trainer reported in hello.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { filter, firstValueFrom } from 'rxjs';
import { openWorkspace } from '../src/workspace.js';
import { TrainerProcess } from '../src/run/trainer-process.js';
import { train } from '../src/run/train.js';
import { resolveTrainer } from '../src/trainers.js';
import type { Hello } from '../src/protocol/messages.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const arg = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const PAIRS = Number(arg('--pairs', '11'));
const EPOCHS = Number(arg('--epochs', '3'));
const TRAINER = arg('--trainer', 'mnist-mlp');
const SEED = 7;
const TARGET = 1.02;
const config = { epochs: EPOCHS, batchSize: 32 };

/** CPU seconds of this process plus its reaped children (utime + stime + cutime + cstime). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / 100;
}

async function withoutCheckpointing(): Promise<{ wallMs: number; cpu: number; backend: string }> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const command = resolveTrainer(TRAINER);
  const trainer = TrainerProcess.spawn({ command: command.command, args: command.args });
  const messages = trainer.output$.pipe(filter((o) => o.kind === 'message' || o.kind === 'exit' || o.kind === 'fault'));
  const hello = await firstValueFrom(messages);
  if (hello.kind !== 'message' || hello.message.type !== 'hello') throw new Error(`trainer did not say hello: ${JSON.stringify(hello)}`);
  // No checkpointing, but a 'hold' trainer still waits for its reported positions to be released: release each at once.
  trainer.output$.subscribe((o) => {
    if (o.kind === 'message' && (o.message.type === 'epoch_end' || o.message.type === 'batch_end')) trainer.send({ type: 'release', epoch: o.message.epoch, step: o.message.step });
  });
  trainer.send({ type: 'start', config, seed: SEED });
  const done = await firstValueFrom(messages.pipe(filter((o) => o.kind !== 'message' || o.message.type === 'done')));
  if (done.kind !== 'message') throw new Error(`trainer ended without done: ${JSON.stringify(done)}`);
  trainer.send({ type: 'exit' });
  trainer.endInput();
  await trainer.waitForExit();
  return { wallMs: performance.now() - t0, cpu: cpuSeconds() - cpu0, backend: (hello.message as Hello).backend };
}

async function withCheckpointing(): Promise<{ wallMs: number; cpu: number; checkpoints: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-bench-train-'));
  try {
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const result = await train({ dir, trainer: TRAINER, epochs: EPOCHS, seed: SEED, policy: 'normal', batchEvery: 0, out: null, handleSignals: false });
    const wallMs = performance.now() - t0;
    const cpu = cpuSeconds() - cpu0;
    if (result.exitCode !== 0) throw new Error(`checkpointed run failed: ${JSON.stringify(result.error)}`);
    const ws = await openWorkspace(dir);
    let checkpoints = 0;
    for await (const _ of ws.ledger.read({ types: ['CheckpointCommitted'] })) checkpoints++;
    await ws.close();
    return { wallMs, cpu, checkpoints };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Crash a run after its first epoch (SIGKILL of the trainer, no restarts), then time `train({resume: true})`. */
async function resumeMs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-bench-resume-'));
  try {
    let pid = 0;
    let killed = false;
    const out = new Writable({
      write(chunk, _e, done) {
        if (!killed && /epoch 1/.test(String(chunk))) { killed = true; process.kill(pid, 'SIGKILL'); }
        done();
      },
    });
    const crashed = await train({ dir, trainer: TRAINER, epochs: 2, seed: SEED, maxRestarts: 0, out, handleSignals: false, onTrainerSpawn: (p) => (pid = p) });
    if (crashed.exitCode !== 1) throw new Error('could not crash the run for the resume measurement');
    const t0 = Date.now();
    const resumed = await train({ dir, trainer: TRAINER, epochs: 2, seed: SEED, resume: true, batchEvery: 1, out: null, handleSignals: false });
    if (resumed.exitCode !== 0) throw new Error(`resumed run failed: ${JSON.stringify(resumed.error)}`);
    const ws = await openWorkspace(dir);
    let resumedSeq = 0;
    let firstStepAt = 0;
    for await (const e of ws.ledger.read()) {
      if (e.type === 'RunResumed') resumedSeq = e.seq;
      else if (resumedSeq && !firstStepAt && (e.type === 'BatchEnded' || e.type === 'EpochEnded')) firstStepAt = e.at;
    }
    await ws.close();
    return firstStepAt - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// Warm-up (discarded): the first train() in a process pays one-time module and LevelDB initialisation that a
// `ckpt train` process pays once too, but that is not per-run checkpointing cost.
if (!argv.includes('--no-warmup')) await withCheckpointing();

// `--aa`: an A/A calibration — the "on" side of every pair is another run without checkpointing, so the ratios
// show how far two runs of identical work drift apart on this machine right now (the noise floor of the figure).
const AA = argv.includes('--aa');
const checkpointed = AA ? async () => ({ ...(await withoutCheckpointing()), checkpoints: 0 }) : withCheckpointing;
const loadAtStart = loadavg()[0];
const off: { wallMs: number; cpu: number }[] = [];
const on: { wallMs: number; cpu: number; checkpoints: number }[] = [];
let backend = 'unknown';
for (let i = 0; i < PAIRS; i++) {
  if (i % 2 === 0) {
    const b = await withoutCheckpointing(); backend = b.backend; off.push(b);
    on.push(await checkpointed());
  } else {
    on.push(await checkpointed());
    const b = await withoutCheckpointing(); backend = b.backend; off.push(b);
  }
  if (!json) process.stderr.write(`pair ${i + 1}/${PAIRS}: on ${Math.round(on[i].wallMs)} ms, off ${Math.round(off[i].wallMs)} ms\n`);
}
const ratios = on.map((r, i) => r.wallMs / off[i].wallMs);
const overheadRatio = median(ratios);
const cpuRatios = on.map((r, i) => r.cpu / Math.max(0.01, off[i].cpu));
const cpuRatio = median(cpuRatios);
/** Quartiles by linear interpolation: the spread of the pair ratios. */
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(s.length - 1, lo + 1)] - s[lo]) * (at - lo);
};
const spread = { p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75), min: Math.min(...ratios), max: Math.max(...ratios) };
const resume = AA ? 0 : await resumeMs();
const load = [loadAtStart, loadavg()[0]].map((x) => Number(x.toFixed(2)));

const result = {
  trainer: TRAINER, epochs: EPOCHS, pairs: PAIRS, backend, ...(AA ? { calibration: 'A/A: both sides without checkpointing' } : {}),
  offMs: Math.round(median(off.map((r) => r.wallMs))),
  onMs: Math.round(median(on.map((r) => r.wallMs))),
  checkpointsPerRun: on[0]?.checkpoints ?? 0,
  overheadRatio: Number(overheadRatio.toFixed(4)),
  pairRatios: ratios.map((r) => Number(r.toFixed(4))),
  overheadRatioP25: Number(spread.p25.toFixed(4)),
  overheadRatioP75: Number(spread.p75.toFixed(4)),
  overheadRatioMin: Number(spread.min.toFixed(4)),
  overheadRatioMax: Number(spread.max.toFixed(4)),
  cpuRatio: Number(cpuRatio.toFixed(4)),
  pairCpuRatios: cpuRatios.map((r) => Number(r.toFixed(4))),
  resumeMs: resume,
  loadavg: load,
  target: { overheadRatio: TARGET },
  pass: overheadRatio <= TARGET,
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const rows: [string, string, string][] = [
    ['backend', backend, ''],
    [`training off (median of ${PAIRS})`, `${result.offMs} ms`, ''],
    ['checkpointing + ledger', `${result.onMs} ms (${result.checkpointsPerRun} checkpoints)`, ''],
    ['overheadRatio (wall, median of pairs)', result.overheadRatio.toFixed(4), `<= ${TARGET} ${result.pass ? 'PASS' : 'MISS'}`],
    ['spread: quartiles / range of pairs', `${spread.p25.toFixed(3)}–${spread.p75.toFixed(3)} / ${spread.min.toFixed(3)}–${spread.max.toFixed(3)}`, ''],
    ['pair ratios', result.pairRatios.map((r) => r.toFixed(3)).join(' '), ''],
    ['cpuRatio (supervisor + trainer CPU, median of pairs)', result.cpuRatio.toFixed(4), ''],
    ['resumeMs (resume call → first step)', AA ? '(not measured with --aa)' : `${resume} ms`, ''],
    ['machine load (1-minute average) at start / end', `${load.join(' / ')} on ${cpus().length} cores`, ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`bench:train — ${TRAINER}, ${EPOCHS} epochs, seed ${SEED}, alternated pairs${AA ? ' — A/A CALIBRATION: both sides train without checkpointing' : ''}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}
