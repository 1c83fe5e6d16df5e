// `npm run bench:store` (`--json`): checkpoint save/load throughput against raw Node I/O measured in the same
// run on the same disk, and the dedupe ratio of a fine-tune whose first 90% of bytes never change.
//   saveRatio = raw write+fsync time / ckpt commit time   (target >= 0.8)
//   loadRatio = raw read+sha256 time / ckpt verified load time (target >= 0.8)
// Raw and ckpt alternate which goes first each round: the second writer of a round pays for the page cache the
// first one filled (reclaim and writeback show up as its system CPU), which made a raw-always-first run read
// 0.4 where the alternated medians read ~1. Ratios are of the per-side medians over the rounds.
// `breakdown` says where a save's time goes on this disk: sha256 of every byte (the store's own hashBlob), writing
// to the page cache, fsync, then mkdir of the `objects/ab/` prefix directories + rename + their directory fsyncs —
// each measured alone on the same bytes. `saveCpuMs` / `rawSaveCpuMs`: CPU of this process (all threads) per save,
// medians; `loadavg`: the machine's 1-minute load at the start and the end (this machine is shared: read the ratio
// with it).
//   dedupe    = physicalBytes / (fullBytes + 10 × changedBytes) (target <= 1.2)
// Options: --mb <total MB, default 400> --tensors <n, default 100> --rounds <n, default 3> --dir <parent dir>
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkspace } from '../src/workspace.js';
import type { CheckpointState, TensorData } from '../src/checkpoint.js';
import { fsyncDir } from '../src/store/fsync.js';
import { hashBlob, mapLimit } from '../src/store/blobs.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const json = args.includes('--json');
const totalMB = opt('mb', 400);
const tensorCount = opt('tensors', 100);
const rounds = opt('rounds', 6);
const parentIndex = args.indexOf('--dir');
const parent = parentIndex >= 0 ? args[parentIndex + 1] : tmpdir();
const log = (line: string) => { if (!json) process.stderr.write(line + '\n'); };

function tensors(count: number, bytesEach: number, seedBytes: Buffer, offset = 0): TensorData[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `layer${i + offset}/kernel`,
    dtype: 'float32' as const,
    shape: [bytesEach / 4],
    data: new Uint8Array(seedBytes.buffer, seedBytes.byteOffset + i * bytesEach, bytesEach),
  }));
}

function stateOf(weights: TensorData[], epoch = 1): CheckpointState {
  return { objects: { model: { weights } }, trainer: { epoch, step: epoch }, history: [] };
}

/** Raw baseline: one file per tensor, write + fsync + close, then one directory fsync. */
async function rawSave(dir: string, weights: TensorData[]): Promise<number> {
  await mkdir(dir, { recursive: true });
  const t0 = performance.now();
  for (let i = 0; i < weights.length; i++) {
    const handle = await open(join(dir, `t${i}`), 'w');
    let at = 0;
    const data = weights[i].data;
    while (at < data.byteLength) at += (await handle.write(data, at, data.byteLength - at)).bytesWritten;
    await handle.sync();
    await handle.close();
  }
  await fsyncDir(dir);
  return performance.now() - t0;
}

/** Raw baseline: read every file back and sha256 it. */
async function rawLoad(dir: string, count: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) createHash('sha256').update(await readFile(join(dir, `t${i}`))).digest('hex');
  return performance.now() - t0;
}

/** CPU milliseconds of this process so far, every thread (the main thread hashing, libuv's pool writing). */
const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Milliseconds of each phase a save is made of, each alone: where the time goes on this machine. */
async function saveBreakdown(dir: string, weights: TensorData[]): Promise<Record<string, number>> {
  await mkdir(dir, { recursive: true });
  const time = async (work: () => Promise<unknown>): Promise<number> => { const t0 = performance.now(); await work(); return performance.now() - t0; };
  let hashes: string[] = [];
  const hashMs = await time(async () => { hashes = await mapLimit(weights, 4, (w) => hashBlob(w.data)); });
  const handles = await Promise.all(weights.map((_, i) => open(join(dir, `t${i}`), 'w')));
  const writeMs = await time(() => mapLimit(weights, 4, (w, i) => handles[i].write(w.data)));
  const fsyncMs = await time(() => mapLimit(handles, 4, (h) => h.sync()));
  await Promise.all(handles.map((h) => h.close()));
  const objects = join(dir, 'objects');
  await mkdir(objects);
  // As the store lays blobs out: objects/<first two hex digits>/<the rest>, each prefix directory fsynced once.
  const prefixes = [...new Set(hashes.map((h) => h.slice(0, 2)))];
  const renameMs = await time(async () => {
    await mapLimit(prefixes, 4, (p) => mkdir(join(objects, p)));
    await mapLimit(weights, 4, (_, i) => rename(join(dir, `t${i}`), join(objects, hashes[i].slice(0, 2), hashes[i].slice(2))));
    await mapLimit(prefixes, 4, (p) => fsyncDir(join(objects, p)));
    await fsyncDir(objects);
  });
  await rm(dir, { recursive: true, force: true });
  const round = (x: number): number => Number(x.toFixed(1));
  return { hashMs: round(hashMs), writeMs: round(writeMs), fsyncMs: round(fsyncMs), renameAndDirFsyncMs: round(renameMs), prefixDirs: prefixes.length };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(parent, 'ckpt-bench-store-'));
  try {
    const bytesEach = Math.floor((totalMB * 1024 * 1024) / tensorCount / 4) * 4;
    const total = bytesEach * tensorCount;
    log(`generating ${tensorCount} float32 tensors, ${(total / 1e6).toFixed(0)} MB in ${root}`);
    const raw = randomBytes(total);
    const weights = tensors(tensorCount, bytesEach, raw);

    const rawSaves: number[] = [], saves: number[] = [], rawLoads: number[] = [], loads: number[] = [];
    const rawCpu: number[] = [], saveCpu: number[] = [];
    const loadAtStart = loadavg()[0];
    for (let round = 0; round < rounds; round++) {
      const rawDir = join(root, `raw-${round}`);
      const ws = await openWorkspace(join(root, `ckpt-${round}`), { create: true });
      const ckptSave = async (): Promise<{ ms: number; checkpoint: string }> => {
        const t0 = performance.now();
        const { checkpoint } = await ws.store.commit(stateOf(weights), { run: 'bench', epoch: 1, step: 1, metrics: {}, trainer: 'bench', backend: 'none' });
        return { ms: performance.now() - t0, checkpoint };
      };
      const rawFirst = round % 2 === 0;
      let rs: number, cs: { ms: number; checkpoint: string };
      const rawTimed = async (): Promise<number> => { const c0 = cpuMs(); const ms = await rawSave(rawDir, weights); rawCpu.push(cpuMs() - c0); return ms; };
      const ckptTimed = async (): Promise<{ ms: number; checkpoint: string }> => { const c0 = cpuMs(); const r = await ckptSave(); saveCpu.push(cpuMs() - c0); return r; };
      if (rawFirst) { rs = await rawTimed(); cs = await ckptTimed(); } else { cs = await ckptTimed(); rs = await rawTimed(); }
      let rl: number, cl: number;
      const ckptLoad = async (): Promise<number> => {
        const t1 = performance.now();
        const loaded = await ws.store.loadId(cs.checkpoint);
        if (loaded.state.objects.model.weights.length !== tensorCount) throw new Error('load returned the wrong tensor count');
        return performance.now() - t1;
      };
      if (rawFirst) { rl = await rawLoad(rawDir, tensorCount); cl = await ckptLoad(); } else { cl = await ckptLoad(); rl = await rawLoad(rawDir, tensorCount); }
      await ws.close();
      await rm(rawDir, { recursive: true, force: true });
      await rm(join(root, `ckpt-${round}`), { recursive: true, force: true });
      log(`round ${round + 1} (${rawFirst ? 'raw' : 'ckpt'} first): raw save ${rs.toFixed(0)} ms, ckpt save ${cs.ms.toFixed(0)} ms, raw load ${rl.toFixed(0)} ms, ckpt load ${cl.toFixed(0)} ms`);
      rawSaves.push(rs); saves.push(cs.ms); rawLoads.push(rl); loads.push(cl);
    }
    const bestRawSave = median(rawSaves), bestSave = median(saves), bestRawLoad = median(rawLoads), bestLoad = median(loads);
    log('breakdown: each phase of a save alone on the same bytes');
    const breakdown = await saveBreakdown(join(root, 'breakdown'), weights);

    // Dedupe: 10 checkpoints; the first 90% of the bytes never change, the last 10% change every time.
    const dedupeTensors = 100;
    const dedupeEach = 64 * 1024;
    const frozenCount = 90;
    const ws = await openWorkspace(join(root, 'dedupe'), { create: true });
    const frozen = tensors(frozenCount, dedupeEach, randomBytes(frozenCount * dedupeEach));
    for (let i = 0; i < 10; i++) {
      const changed = tensors(dedupeTensors - frozenCount, dedupeEach, randomBytes((dedupeTensors - frozenCount) * dedupeEach), frozenCount);
      await ws.store.commit(stateOf([...frozen, ...changed], i + 1), { run: 'bench', epoch: i + 1, step: i + 1, metrics: { loss: 1 / (i + 1) }, trainer: 'bench', backend: 'none' });
    }
    const summary = await ws.store.summary();
    await ws.close();
    const fullBytes = dedupeTensors * dedupeEach;
    const changedBytes = (dedupeTensors - frozenCount) * dedupeEach;
    const dedupe = summary.physicalBytes / (fullBytes + 10 * changedBytes);

    const mb = total / (1024 * 1024);
    const result = {
      sizeMB: Math.round(mb),
      tensors: tensorCount,
      rawSaveMBps: mb / (bestRawSave / 1000),
      saveMBps: mb / (bestSave / 1000),
      saveRatio: bestRawSave / bestSave,
      rawLoadMBps: mb / (bestRawLoad / 1000),
      loadMBps: mb / (bestLoad / 1000),
      loadRatio: bestRawLoad / bestLoad,
      physicalBytes: summary.physicalBytes,
      dedupe,
      rounds,
      rawSaveCpuMs: Math.round(median(rawCpu)),
      saveCpuMs: Math.round(median(saveCpu)),
      saveRatioRange: [Math.min(...rawSaves.map((r, i) => r / saves[i])), Math.max(...rawSaves.map((r, i) => r / saves[i]))].map((x) => Number(x.toFixed(3))),
      loadavg: [loadAtStart, loadavg()[0]].map((x) => Number(x.toFixed(2))),
      breakdown,
      targets: { saveRatio: '>= 0.8', loadRatio: '>= 0.8', dedupe: '<= 1.2' },
      pass: { saveRatio: bestRawSave / bestSave >= 0.8, loadRatio: bestRawLoad / bestLoad >= 0.8, dedupe: dedupe <= 1.2 },
    };
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const rows: [string, string, string, string][] = [
        ['rawSaveMBps (write+fsync)', result.rawSaveMBps.toFixed(1), '', ''],
        ['saveMBps', result.saveMBps.toFixed(1), '', ''],
        ['saveRatio', result.saveRatio.toFixed(3), '>= 0.8', result.pass.saveRatio ? 'PASS' : 'MISS'],
        ['  per-round range (raw/ckpt)', result.saveRatioRange.map((x) => x.toFixed(2)).join('–'), '', ''],
        ['  CPU per save: raw / ckpt (ms)', `${result.rawSaveCpuMs} / ${result.saveCpuMs}`, '', ''],
        ['rawLoadMBps (read+sha256)', result.rawLoadMBps.toFixed(1), '', ''],
        ['loadMBps (verified)', result.loadMBps.toFixed(1), '', ''],
        ['loadRatio', result.loadRatio.toFixed(3), '>= 0.8', result.pass.loadRatio ? 'PASS' : 'MISS'],
        ['dedupe (10 ckpts, 90% frozen)', result.dedupe.toFixed(3), '<= 1.2', result.pass.dedupe ? 'PASS' : 'MISS'],
      ];
      const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['metric', 'value', 'target', ''][c].length));
      const line = (r: string[]) => r.map((cell, c) => (c === 1 ? cell.padStart(w[c]) : cell.padEnd(w[c]))).join('  ');
      console.log(`bench:store — ${result.sizeMB} MB in ${tensorCount} float32 tensors, medians of ${rounds} rounds (alternating which side goes first)`);
      console.log(line(['metric', 'value', 'target', '']));
      for (const r of rows) console.log(line(r));
      console.log(`where a save's time goes (each phase alone, ms): sha256 ${breakdown.hashMs}, write ${breakdown.writeMs}, fsync ${breakdown.fsyncMs}, mkdir + rename + fsync of ${breakdown.prefixDirs} prefix directories ${breakdown.renameAndDirFsyncMs}`);
      console.log(`machine load (1-minute average) at start / end: ${result.loadavg.join(' / ')} on ${cpus().length} cores`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
