/**
 * Shared by the CLI suites: a realistic ledger history built from src/events.ts types (two runs, saves, skips,
 * prunes, a crash and a resume, a tag and a pin), and a runner for the built `ckpt` binary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventInput } from '../ledger/types.js';
import type { CheckpointCommitted, Decision } from '../src/events.js';

export const BIN = new URL('../bin/ckpt.js', import.meta.url).pathname;

export interface CliResult { code: number; stdout: string; stderr: string }

/** Run `node bin/ckpt.js ...args` to completion. */
export function ckpt(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env }, timeout: 120_000 });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** Run it asynchronously (for commands that must overlap with others). */
export function ckptAsync(args: string[], options: { cwd?: string } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { child, done, get stdout() { return stdout; }, get stderr() { return stderr; } };
}

export function tempDir(prefix = 'ckpt-cli-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const T0 = Date.UTC(2026, 10, 22, 6, 0, 0);

/**
 * A two-run history, returned as ledger inputs in order (seqs are 1..n in this order on an empty ledger).
 * run-1: policy saves on val_loss improvement, keeps the best 2; epochs 1..4 with val_loss .50 .40 .45 .30;
 * ckpt-1 (e1), ckpt-2 (e2) saved, e3 skipped, ckpt-3 (e4) saved → ckpt-1 pruned; then a crash and a resume from
 * ckpt-3, epoch 5 (val_loss .35) skipped, run finished. ckpt-2 tagged `baseline`, pinned.
 * run-2: one epoch, ckpt-4 (val_loss .33, val_acc .95), finished.
 */
export function sampleHistory(): EventInput[] {
  const events: EventInput[] = [];
  let seq = 0;
  let clock = T0;
  const push = (stream: string, type: string, data: unknown): number => {
    clock += 1000;
    events.push({ id: `e-${seq + 1}`, stream, type, at: clock, data });
    return ++seq;
  };
  const policy = { monitor: 'val_loss', mode: 'min', saveBestOnly: true, keep: { topK: 2 } };
  push('run-1', 'RunStarted', { run: 'run-1', trainer: 'mnist-mlp', trainerVersion: '0.1.0', backend: 'wasm', protocol: 1, seed: 7, epochs: 5, batchSize: 64, trainerConfig: {}, policy, pid: 4242 });
  const commits: Record<number, string> = {};
  let n = 0;
  let best: number | null = null;
  const commit = (run: string, epoch: number, metrics: Record<string, number>, decisionSeq: number, blobs: number) => {
    const id = `ckpt-${++n}`;
    const data: CheckpointCommitted = {
      checkpoint: id, run, epoch, step: epoch * 100, manifest: `m${n}`.padEnd(64, '0'), weightsDigest: `w${n}`.padEnd(64, 'a'), metrics,
      bytes: { logical: 400_000, new: blobs }, blobs: [`b${n}`], objects: ['model'], tags: [], decisionSeq, labels: ['best:val_loss'], trainer: 'mnist-mlp', backend: 'wasm',
    };
    push(run, 'CheckpointCommitted', data);
    commits[epoch] = id;
    return id;
  };
  const epoch = (run: string, e: number, val_loss: number, extra: Record<string, number> = {}) => {
    const metrics = { loss: val_loss - 0.05, val_loss, ...extra };
    const cause = push(run, 'EpochEnded', { run, epoch: e, step: e * 100, metrics, ms: 1200 });
    if (best === null || val_loss < best) {
      const d: Decision = { kind: 'save', causeSeq: cause, rule: 'saveBestOnly', run, epoch: e, step: e * 100, monitor: 'val_loss', value: val_loss, previous: best, labels: ['best:val_loss'],
        reason: best === null ? `val_loss improved from inf to ${val_loss.toFixed(4)}` : `val_loss improved from ${best.toFixed(4)} to ${val_loss.toFixed(4)}` };
      const dseq = push(run, 'SaveDecided', d);
      best = val_loss;
      return { saved: commit(run, e, metrics, dseq, e === 1 ? 400_000 : 150_000) };
    }
    const d: Decision = { kind: 'skip', causeSeq: cause, rule: 'saveBestOnly', run, epoch: e, step: e * 100, monitor: 'val_loss', value: val_loss, previous: best, reason: `val_loss did not improve from ${best.toFixed(4)}` };
    push(run, 'SaveSkipped', d);
    return { saved: null };
  };
  epoch('run-1', 1, 0.5);
  epoch('run-1', 2, 0.4);
  push('run-1', 'CheckpointTagged', { checkpoint: 'ckpt-2', tags: ['baseline'], description: 'first good one' });
  push('run-1', 'CheckpointPinned', { checkpoint: 'ckpt-2', reason: 'keep for the paper' });
  epoch('run-1', 3, 0.45);
  const e4 = epoch('run-1', 4, 0.3);
  const commitSeq = seq;
  const prune: Decision = { kind: 'prune', causeSeq: commitSeq, rule: 'keepTopK', run: 'run-1', checkpoint: 'ckpt-1', monitor: 'val_loss', value: 0.5, reason: 'ckpt-1 left the top 2 by val_loss (0.5000)' };
  const intent = push('run-1', 'PruneIntended', prune);
  push('run-1', 'CheckpointPruned', { checkpoint: 'ckpt-1', intentSeq: intent, blobsDeleted: 3, bytesFreed: 250_000 });
  push('run-1', 'RunCrashed', { run: 'run-1', reason: 'trainer exited without done', exitCode: null, signal: 'SIGKILL', attempt: 1 });
  push('run-1', 'RunResumed', { run: 'run-1', fromCheckpoint: e4.saved, epoch: 4, step: 400, attempt: 1, reason: 'restart' });
  epoch('run-1', 5, 0.35);
  push('run-1', 'TrainingEnded', { run: 'run-1', epoch: 5, step: 500, reason: 'done' });
  push('run-1', 'RunFinished', { run: 'run-1', epoch: 5, step: 500, weightsDigest: 'f'.repeat(64) });
  best = null;
  push('run-2', 'RunStarted', { run: 'run-2', trainer: 'mnist-mlp', trainerVersion: '0.1.0', backend: 'wasm', protocol: 1, seed: 8, epochs: 1, batchSize: 64, trainerConfig: {}, policy: { monitor: 'val_loss', mode: 'min' }, pid: 4343 });
  epoch('run-2', 1, 0.33, { val_acc: 0.95 });
  push('run-2', 'RunFinished', { run: 'run-2', epoch: 1, step: 100 });
  return events;
}
