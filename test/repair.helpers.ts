/**
 * Shared by the repair suites: real `ckpt train` runs of the deterministic fake trainer (test/fixtures), a
 * SIGKILL of the whole supervisor process group at a chosen output line, and readers of what the CLI reports.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, ckpt, type CliResult } from './cli.helpers.js';

export const FAKE_TRAINER = fileURLToPath(new URL('./fixtures/run-fake-trainer.mjs', import.meta.url));

/** `ckpt train` arguments for a fake-trainer run (3 batches per epoch, `batchMs` per batch). */
export function trainArgs(dir: string, epochs: number, batchMs = 1): string[] {
  return ['train', '--dir', dir, '--trainer', FAKE_TRAINER, '--epochs', String(epochs), '--seed', '7', '--trainer-config', JSON.stringify({ batchesPerEpoch: 3, batchMs })];
}

/** The 12-hex weights digest `ckpt train` prints when a run finishes. */
export function finishedDigest(res: CliResult): string {
  const match = /finished at epoch \d+, step \d+, weights ([0-9a-f]{12})/.exec(res.stdout);
  if (!match) throw new Error(`no finished line (exit ${res.code}): ${res.stdout}\n${res.stderr}`);
  return match[1];
}

/** The digest of an uninterrupted run of `epochs` epochs (trained in `dir`). */
export function referenceDigest(dir: string, epochs: number): string {
  return finishedDigest(ckpt(trainArgs(dir, epochs)));
}

/**
 * Start `ckpt train` in its own process group and SIGKILL the whole group (supervisor and trainer) as soon as a
 * stdout line matches `at`. Resolves with the output seen.
 */
export function trainAndKill(args: string[], at: RegExp, timeoutMs = 60_000): Promise<string> {
  const child = spawn(process.execPath, [BIN, ...args], { detached: true, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`no line matching ${at} within ${timeoutMs} ms: ${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (at.test(stdout)) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(stdout);
      else reject(new Error(`train ended by itself (code ${code}) before ${at}: ${stdout}\n${stderr}`));
    });
  });
}

/** LevelDB files of `<dir>/ledger` whose name matches. */
export function ledgerFiles(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(dir, 'ledger')).filter((name) => pattern.test(name)).map((name) => join(dir, 'ledger', name));
}

/** Parse a command's --json stdout, failing with its stderr. */
export function json<T = any>(res: CliResult): T {
  try {
    return JSON.parse(res.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${res.code}): ${res.stdout}\n${res.stderr}`);
  }
}

export interface KeptFact { run: string; epoch: number; step: number; weightsDigest: string }

/** Kept checkpoints as (run, epoch, step, digest), ids aside: ids may be reassigned by a rebuild. */
export function keptFacts(dir: string): KeptFact[] {
  const rows = json<{ run: string; epoch: number; step: number; weightsDigest: string; status: string }[]>(ckpt(['ls', '--json', '--dir', dir]));
  return rows.filter((r) => r.status === 'kept').map(({ run, epoch, step, weightsDigest }) => ({ run, epoch, step, weightsDigest }));
}
