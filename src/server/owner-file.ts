/**
 * `<dir>/owner.json`: how the process that owns a ledger (holds its LevelDB lock) tells other processes where
 * to read through it. Written atomically (temp → fsync → rename → dir fsync), removed on close and on exit.
 * A file left behind by a killed owner is stale: `readOwner` ignores it and removes it.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

export interface OwnerInfo {
  pid: number;
  host: string;
  port: number;
  token?: string;
  /** Epoch milliseconds. */
  startedAt: number;
}

/** A live owner: its advertisement plus the base URL to reach it. */
export interface Owner extends OwnerInfo {
  url: string;
}

export const OWNER_FILE = 'owner.json';

/**
 * Base URL for an advertised host/port (IPv6 literals in brackets; a wildcard bind is reached on loopback).
 * @example ownerUrl({ host: '0.0.0.0', port: 6006 }) // 'http://127.0.0.1:6006'
 */
export function ownerUrl(info: Pick<OwnerInfo, 'host' | 'port'>): string {
  let host = info.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
}

/**
 * Atomically write `<dir>/owner.json`.
 * @example writeOwnerFile('./checkpoints', { pid: process.pid, host: '127.0.0.1', port: 6006, startedAt: Date.now() })
 */
export function writeOwnerFile(dir: string, info: OwnerInfo): void {
  const path = join(dir, OWNER_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(info, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dir);
}

/**
 * The parsed file, or null when missing or unreadable (never throws). Does not check that the owner lives.
 * @example readOwnerFile('./checkpoints')?.port // 6006
 */
export function readOwnerFile(dir: string): OwnerInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<OwnerInfo>;
    if (typeof info.pid !== 'number' || typeof info.port !== 'number' || typeof info.host !== 'string') return null;
    return { pid: info.pid, host: info.host, port: info.port, startedAt: Number(info.startedAt ?? 0), ...(info.token ? { token: info.token } : {}) };
  } catch {
    return null;
  }
}

/**
 * Remove `<dir>/owner.json` if it still advertises `expected` (pid + port), so a newer owner's file survives.
 * Synchronous so it can run in a process 'exit' handler.
 * @example removeOwnerFile(dir, { pid: process.pid, port: 6006 }) // true when it was ours and is gone
 */
export function removeOwnerFile(dir: string, expected?: Pick<OwnerInfo, 'pid' | 'port'>): boolean {
  const current = readOwnerFile(dir);
  if (!current) return false;
  if (expected && (current.pid !== expected.pid || current.port !== expected.port)) return false;
  try {
    unlinkSync(join(dir, OWNER_FILE));
    return true;
  } catch {
    return false;
  }
}

/**
 * True when a process with this pid exists (EPERM means it exists but belongs to someone else).
 * @example isPidAlive(process.pid) // true
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * GET /api/health on the advertised address; true on a 200 within `timeoutMs` from a server reporting the same
 * pid (a reused port answered by some other process does not count).
 * @example if (!(await pingOwner(readOwnerFile(dir)!))) console.log('stale owner.json')
 */
export function pingOwner(info: OwnerInfo, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = info.token ? { authorization: `Bearer ${info.token}` } : {};
    const req = request(`${ownerUrl(info)}/api/health`, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { pid?: number }).pid === info.pid);
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * The live owner of a ckpt directory, or null. A stale file (pid dead, or the port not answering) is removed.
 * @example const owner = await readOwner('./checkpoints'); if (owner) await fetchJson(owner, '/api/runs')
 */
export async function readOwner(dir: string, options: { timeoutMs?: number } = {}): Promise<Owner | null> {
  const info = readOwnerFile(dir);
  if (!info) return null;
  const alive = isPidAlive(info.pid) && (await pingOwner(info, options.timeoutMs));
  if (!alive) {
    removeOwnerFile(dir, info);
    return null;
  }
  return { ...info, url: ownerUrl(info) };
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
