/**
 * Durable file-system primitives: write a file so that it survives a power cut (temp → fsync → rename →
 * directory fsync), and fsync a directory so a rename or unlink inside it is durable.
 */
import { open, rename, mkdir, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * fsync a directory so that renames, creations and unlinks inside it are on disk.
 * @example await fsyncDir('/ckpt/objects/ab')
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Write bytes to a fresh temp file in `tmpDir` and fsync it. Returns the temp path; the caller renames it.
 * @example const tmp = await writeTempDurable('/ckpt/tmp', bytes)
 */
export async function writeTempDurable(tmpDir: string, bytes: Uint8Array, hint = 'blob'): Promise<string> {
  const path = join(tmpDir, `${hint}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(path, 'wx');
  try {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
      offset += bytesWritten;
    }
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return path;
}

/**
 * Atomically and durably write a whole file at `path` (temp in the same directory, fsync, rename, dir fsync).
 * @example await writeFileDurable('/backup/ckpt-3.json', Buffer.from('{}'))
 */
export async function writeFileDurable(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = await writeTempDurable(dir, bytes, `.${basename(path)}`);
  await rename(tmp, path);
  await fsyncDir(dir);
}
