/**
 * The faults `npm run chaos` injects, each against real files and real processes: SIGKILL of the trainer or of
 * the supervisor's whole process group at a chosen output line, a flipped byte in a blob, a truncated LevelDB
 * table or write-ahead log, garbage in LevelDB's MANIFEST, and a full disk (a small tmpfs mount).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = new URL('../bin/ckpt.js', import.meta.url).pathname;

export interface CliRun { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Where to kill a run: after its `line`-th stdout line, the trainer only or the supervisor's whole group. */
export interface KillAt { line: number; what: 'trainer' | 'group' }

/**
 * Run `ckpt ...args` in its own process group; with `kill`, SIGKILL (see KillAt) once that many lines are out.
 * @example const res = await ckptRun(['train', '--dir', d], { kill: { line: 3, what: 'group' } })
 */
export function ckptRun(args: string[], options: { kill?: KillAt; timeoutMs?: number } = {}): Promise<CliRun & { killed: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args], { detached: true, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  const timer = setTimeout(() => killGroup(child.pid!), options.timeoutMs ?? 120_000);
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d;
    const kill = options.kill;
    if (kill && !killed && stdout.split('\n').length - 1 >= kill.line) {
      killed = kill.what === 'group' ? killGroup(child.pid!) : killChildren(child.pid!);
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL every child of `pid` (the supervisor's trainer), read from /proc. */
function killChildren(pid: number): boolean {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return false;
  }
  let any = false;
  for (const child of children) {
    try {
      process.kill(child, 'SIGKILL');
      any = true;
    } catch {
      // gone already
    }
  }
  return any;
}

/** Every blob file under `<dir>/objects`. */
export function blobFiles(dir: string): string[] {
  const root = join(dir, 'objects');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((prefix) => readdirSync(join(root, prefix)).map((name) => join(root, prefix, name))).sort();
}

/** Flip one byte (xor 0xff) at a fraction of a file's length. */
export function flipByte(file: string, at: number): void {
  const size = statSync(file).size;
  if (size === 0) return;
  const offset = Math.min(size - 1, Math.floor(at * size));
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** LevelDB files of `<dir>/ledger` whose name matches. */
export function ledgerFiles(dir: string, pattern: RegExp): string[] {
  const root = join(dir, 'ledger');
  return readdirSync(root).filter((name) => pattern.test(name)).map((name) => join(root, name));
}

/** Truncate a file to a fraction of its size; returns the new size. */
export function truncateTo(file: string, fraction: number): number {
  const size = Math.floor(statSync(file).size * fraction);
  truncateSync(file, size);
  return size;
}

/** Overwrite the first 64 bytes of a file with garbage from `random`. */
export function garbage64(file: string, random: () => number): void {
  const bytes = Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256)));
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, 64, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Mount a tmpfs of `bytes` at `dir` (root only) and return its unmount.
 * @example const unmount = mountTmpfs('/tmp/x', 512 * 1024); try { ... } finally { unmount() }
 */
export function mountTmpfs(dir: string, bytes: number): () => void {
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`cannot mount a tmpfs at ${dir} (root needed): ${res.stderr.trim()}`);
  return () => {
    const un = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (un.status !== 0) spawnSync('umount', ['-l', dir]);
  };
}
