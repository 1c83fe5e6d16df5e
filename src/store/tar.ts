/**
 * A minimal ustar (POSIX tar) writer and a strict reader, enough for portable bundles: regular files only.
 * The reader refuses anything a hostile archive could use (links, pax headers, absolute or `..` paths,
 * sizes beyond the file, bad checksums) before the caller writes a single byte.
 */
import type { FileHandle } from 'node:fs/promises';
import { CkptError } from '../errors.js';

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/**
 * The 512-byte ustar header of a regular file.
 * @example const header = tarHeader('objects/ab/cd…', 1024)
 */
export function tarHeader(path: string, size: number, mtime = 0): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  const name = Buffer.from(path, 'utf8');
  if (name.byteLength > 100) throw new CkptError('STORE_INVALID', `tar path too long: ${path}`);
  name.copy(header, 0);
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return header;
}

/** Zero bytes that pad a file's data to the next block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2, 0);

export interface TarEntry {
  path: string;
  /** 'file' for regular files; anything else is refused by readTarIndex. */
  size: number;
  /** Byte offset of the data in the archive. */
  offset: number;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function bad(code: string, message: string, details: Record<string, unknown> = {}): CkptError {
  return new CkptError(code, message, { details });
}

/** Throw STORE_IMPORT_PATH unless `path` is relative, normalized and free of `..`. */
export function assertSafeRelativePath(path: string): void {
  if (path.length === 0 || path.startsWith('/') || path.includes('\\') || /^[A-Za-z]:/.test(path) || path.includes('\0')) {
    throw bad('STORE_IMPORT_PATH', `bundle entry '${path}' has an absolute or unsafe path; refusing to import`, { path });
  }
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw bad('STORE_IMPORT_PATH', `bundle entry '${path}' escapes the bundle (.. or empty segment); refusing to import`, { path });
  }
}

/**
 * Index every entry of a tar file without trusting it: regular files only, safe paths, sane sizes.
 * @example const entries = await readTarIndex(handle, (await handle.stat()).size)
 */
export async function readTarIndex(handle: FileHandle, fileSize: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const header = Buffer.alloc(BLOCK);
  let position = 0;
  for (;;) {
    if (position + BLOCK > fileSize) throw bad('STORE_IMPORT_MALFORMED', `bundle is truncated at byte ${position}; it is not a complete ckpt bundle`);
    const { bytesRead } = await handle.read(header, 0, BLOCK, position);
    if (bytesRead !== BLOCK) throw bad('STORE_IMPORT_MALFORMED', `bundle is truncated at byte ${position}`);
    if (header.every((b) => b === 0)) return entries;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    const stored = parseInt(field(header, 148, 8).trim(), 8);
    if (stored !== sum) throw bad('STORE_IMPORT_MALFORMED', `bundle header at byte ${position} has a bad checksum; the file is not a tar bundle or is damaged`);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(header, 345, 155);
    const path = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    if (type === '1' || type === '2') throw bad('STORE_IMPORT_LINK', `bundle entry '${path}' is a ${type === '2' ? 'symbolic' : 'hard'} link; bundles hold regular files only`, { path });
    if (type !== '0') throw bad('STORE_IMPORT_MALFORMED', `bundle entry '${path}' has tar type '${type}'; bundles hold regular files only`, { path, type });
    assertSafeRelativePath(path);
    const sizeText = field(header, 124, 12).trim();
    if (!/^[0-7]+$/.test(sizeText)) throw bad('STORE_IMPORT_MALFORMED', `bundle entry '${path}' has an unreadable size`, { path });
    const size = parseInt(sizeText, 8);
    const offset = position + BLOCK;
    if (offset + size > fileSize) throw bad('STORE_IMPORT_MALFORMED', `bundle entry '${path}' claims ${size} bytes but the file ends first`, { path, size });
    entries.push({ path, size, offset });
    position = offset + size + ((BLOCK - (size % BLOCK)) % BLOCK);
  }
}
