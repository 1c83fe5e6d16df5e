/**
 * The blob-store seam (`BlobBackend`) and its local implementation, the content-addressed blob directory:
 * `objects/ab/cdef…` named by the sha256 of the stored bytes.
 * Writes are atomic and durable (temp in `tmp/` → fsync → rename → directory fsync); a blob already present
 * with the right size is not written again. Reads verify the hash. Knows nothing about checkpoints.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CkptError } from '../errors.js';
import { fsyncDir, writeTempDurable } from './fsync.js';
import { isBlobHash } from './hash.js';

/** Bytes per read while verifying: big enough for throughput, small enough to overlap hashing with I/O. */
const READ_CHUNK = 1024 * 1024;

export interface PutResult {
  hash: string;
  /** Stored size in bytes. */
  size: number;
  /** False when an identical blob was already present (deduplicated). */
  written: boolean;
}

/** Why a blob could not be read: it is gone, or its bytes no longer match its name. */
export class BlobFault extends Error {
  constructor(
    readonly kind: 'missing' | 'corrupt',
    readonly hash: string,
    readonly actual: string | null,
    detail: string,
  ) {
    super(detail);
    this.name = 'BlobFault';
  }
}

export interface BlobInfo { hash: string; size: number }

/**
 * Where a store keeps its blobs (tensors and manifests alike, content-addressed by sha256): local files
 * (`BlobStore`) or S3-compatible object storage (`S3BlobStore`). Both pass one contract suite
 * (test/scale.blobs.contract.ts). Blobs are immutable; `put` of a present blob writes nothing; `read` verifies the
 * sha256 and throws BlobFault('missing' | 'corrupt').
 * @example const { hash } = await backend.put(bytes); const same = await backend.read(hash)
 */
export interface BlobBackend {
  /** Where the blobs live, for messages: a directory or an s3:// URL. */
  readonly location: string;
  init(): Promise<void>;
  round(): BlobRound;
  putMany(items: readonly Uint8Array[], concurrency?: number): Promise<PutResult[]>;
  put(bytes: Uint8Array): Promise<PutResult>;
  read(hash: string): Promise<Buffer>;
  /**
   * Verify a blob against its name without keeping its bytes (streamed through a few reused buffers); returns its
   * stored size. Throws BlobFault('missing' | 'corrupt') as `read` does.
   */
  check(hash: string): Promise<number>;
  /** Stored size, or null when absent. */
  size(hash: string): Promise<number | null>;
  remove(hashes: Iterable<string>): Promise<{ deleted: number; bytes: number }>;
  list(): Promise<BlobInfo[]>;
  /** Leftovers of writes that never finished (local temp files), for `gc`. */
  temps(): Promise<string[]>;
}

/** What a staged file must be: its length, and its sha256 when the trainer gave one. */
export interface StagedExpectation { bytes: number; sha256?: string }

/** Writes whose directories are fsynced together (see BlobStore.round). */
export interface BlobRound {
  /** Hash and write one blob (not yet durable: its directory entry needs `durable()`). */
  put(bytes: Uint8Array): Promise<PutResult>;
  /**
   * Take a staged file (protocol capability `stage`) as a blob: check its length (and sha256 when expected), and
   * store it under its hash; the file is gone afterwards. STORE_STAGED_MISMATCH when it is not what was expected.
   */
  adopt(path: string, expect: StagedExpectation): Promise<PutResult>;
  /** Fsync every directory this round's blobs went into. */
  durable(): Promise<void>;
}

/** Bytes hashed between two turns of the event loop: about half a millisecond with SHA instructions. */
const HASH_SLICE = 1024 * 1024;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Hex sha256 of some bytes, hashed in place a slice at a time, yielding to the event loop between slices so
 * I/O callbacks (the writes and fsyncs of other blobs, trainer frames) are not held up by a big tensor.
 * Not WebCrypto on the thread pool: `subtle.digest` first copies every byte into a fresh allocation, and
 * those copies cost more than the hash itself (bench:store: a save's CPU went from ~1.36 s to ~0.72 s per 400 MB).
 * @example const hash = await hashBlob(bytes) // the name `put(bytes)` would store it under
 */
export async function hashBlob(bytes: Uint8Array): Promise<string> {
  const digest = createHash('sha256');
  for (let at = 0; at < bytes.byteLength; at += HASH_SLICE) {
    if (at > 0) await nextTurn();
    digest.update(bytes.subarray(at, Math.min(at + HASH_SLICE, bytes.byteLength)));
  }
  return digest.digest('hex');
}

/**
 * Run `task` over `items` with at most `limit` in flight; results keep input order. After a task fails no new one
 * starts, and it rejects (with the first error) once those in flight settled: nothing of it runs on afterwards (a
 * failed commit does not go on renaming blobs into place after it returned and released the store).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await task(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}

export class BlobStore implements BlobBackend {
  readonly objectsDir: string;
  readonly tmpDir: string;
  /** Hashes this process deleted recently, so a watcher does not report them as lost. */
  readonly ownDeletes = new Set<string>();
  private readonly knownDirs = new Set<string>();

  constructor(readonly root: string) {
    this.objectsDir = join(root, 'objects');
    this.tmpDir = join(root, 'tmp');
  }

  get location(): string {
    return this.objectsDir;
  }

  /** Create `objects/` and `tmp/` when missing. @example await new BlobStore(dir).init() */
  async init(): Promise<void> {
    const createdObjects = await mkdir(this.objectsDir, { recursive: true });
    const createdTmp = await mkdir(this.tmpDir, { recursive: true });
    // New directories are durable only once their parent is fsynced.
    if (createdObjects !== undefined || createdTmp !== undefined) await fsyncDir(this.root);
  }

  /** Path of a blob. @example blobs.path('ab12…') // '<dir>/objects/ab/12…' */
  path(hash: string): string {
    return join(this.objectsDir, hash.slice(0, 2), hash.slice(2));
  }

  /** Size of a stored blob, or null when absent. */
  async size(hash: string): Promise<number | null> {
    try {
      return (await stat(this.path(hash))).size;
    } catch {
      return null;
    }
  }

  /**
   * Store many blobs durably. When this resolves every blob is fsynced, renamed into place and its directory
   * fsynced. Hashing (in slices, see hashBlob) one blob overlaps the disk writes and fsyncs of the others, which
   * run on libuv's thread pool.
   * @example const [{ hash, written }] = await blobs.putMany([bytes])
   */
  async putMany(items: readonly Uint8Array[], concurrency = 4): Promise<PutResult[]> {
    const round = this.round();
    const results = await mapLimit(items, concurrency, (bytes) => round.put(bytes));
    await round.durable();
    return results;
  }

  /**
   * A round of writes made durable together: each `put` writes its blob (temp → fsync → rename) and `durable()`
   * then fsyncs every directory they went into, once. A checkpoint's tensors and the manifest naming them share
   * one round, so the manifest costs no extra directory fsyncs.
   * @example const round = blobs.round(); const { hash } = await round.put(bytes); await round.durable()
   */
  round(): BlobRound {
    const dirsToSync = new Set<string>();
    return {
      put: async (bytes) => this.store(bytes, await hashBlob(bytes), dirsToSync),
      adopt: (path, expect) => this.adopt(path, expect, dirsToSync),
      durable: async () => {
        await mapLimit([...dirsToSync], 4, fsyncDir);
        // Prefix directories this round created are durable entries of objects/ only now: until then another
        // round still treats them as new (and fsyncs objects/ itself), so none depends on a round that failed.
        if (dirsToSync.has(this.objectsDir)) for (const dir of dirsToSync) this.knownDirs.add(dir);
      },
    };
  }

  /**
   * True when the blob is present with `size` bytes that still hash to its name (streamed, see `check`). Only then is
   * it reused: a blob damaged on disk is rewritten (atomically, by a rename) instead of built into a new checkpoint.
   */
  private async presentVerified(hash: string, size: number): Promise<boolean> {
    if ((await this.size(hash)) !== size) return false;
    return this.check(hash).then(() => true, () => false);
  }

  /** Write one blob (temp → fsync → rename) unless a verified copy is present; adds the directories to fsync. */
  private async store(bytes: Uint8Array, hash: string, dirsToSync: Set<string>): Promise<PutResult> {
    const dest = this.path(hash);
    const dir = join(this.objectsDir, hash.slice(0, 2));
    if (await this.presentVerified(hash, bytes.byteLength)) {
      // Its rename may come from a process that died before fsyncing the directory: make it durable too.
      dirsToSync.add(dir);
      return { hash, size: bytes.byteLength, written: false };
    }
    // The prefix directory is made while the bytes are written and fsynced: creating a directory allocates an
    // inode, which on some file systems costs as much as writing a few MB (bench:store's breakdown).
    const made = this.knownDirs.has(dir) ? undefined : mkdir(dir, { recursive: true }).then(() => { dirsToSync.add(this.objectsDir); });
    const [dirMade, written] = await Promise.allSettled([made, writeTempDurable(this.tmpDir, bytes, hash.slice(0, 16))]);
    if (written.status === 'rejected') throw written.reason;
    const tmp = written.value;
    if (dirMade.status === 'rejected') {
      await unlink(tmp).catch(() => undefined);
      throw dirMade.reason;
    }
    try {
      await rename(tmp, dest);
    } catch (error) {
      // Someone removed objects/ab/ behind our back: recreate it and retry once.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dir, { recursive: true });
      dirsToSync.add(this.objectsDir);
      await rename(tmp, dest);
    }
    this.ownDeletes.delete(hash);
    dirsToSync.add(dir);
    return { hash, size: bytes.byteLength, written: true };
  }

  /**
   * Adopt a staged file: while it is fsynced, read it back and hash it; then rename it into place under that hash
   * (one write of every byte in all: the trainer's), or delete it when a verified copy is present.
   */
  private async adopt(path: string, expect: StagedExpectation, dirsToSync: Set<string>): Promise<PutResult> {
    let hash: string;
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw stagedMismatch(path, `cannot be opened: ${(error as Error).message}`);
    }
    try {
      const { size } = await handle.stat();
      if (size !== expect.bytes) throw stagedMismatch(path, `has ${size} bytes, the reply says ${expect.bytes}`);
      const [digest] = await Promise.all([digestOpenFile(handle, size), handle.sync()]);
      if (digest.bytes !== size) throw stagedMismatch(path, `ended after ${digest.bytes} of ${size} bytes`);
      hash = digest.hash;
    } finally {
      await handle.close();
    }
    if (expect.sha256 !== undefined && expect.sha256 !== hash) throw stagedMismatch(path, `has sha256 ${hash}, the reply says ${expect.sha256}`);
    const dest = this.path(hash);
    const dir = join(this.objectsDir, hash.slice(0, 2));
    if (await this.presentVerified(hash, expect.bytes)) {
      await unlink(path);
      dirsToSync.add(dir);
      return { hash, size: expect.bytes, written: false };
    }
    if (!this.knownDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      dirsToSync.add(this.objectsDir);
    }
    await rename(path, dest);
    this.ownDeletes.delete(hash);
    dirsToSync.add(dir);
    return { hash, size: expect.bytes, written: true };
  }

  /** Store one blob durably. @example const { hash } = await blobs.put(Buffer.from('{}')) */
  async put(bytes: Uint8Array): Promise<PutResult> {
    return (await this.putMany([bytes]))[0];
  }

  /**
   * Read a blob and check its hash; throws BlobFault('missing' | 'corrupt'). Reading the next chunk from disk
   * overlaps hashing the previous one, so verification costs little beyond the read itself.
   * @example const bytes = await blobs.read(hash)
   */
  async read(hash: string, from: string = this.path(hash)): Promise<Buffer> {
    const handle = await openBlob(hash, from);
    let bytes: Buffer;
    let actual: string;
    try {
      const { size } = await handle.stat();
      // Own ArrayBuffer at offset 0 (never the shared pool), so callers may view it as Float32Array etc.
      bytes = Buffer.allocUnsafeSlow(size);
      const digest = createHash('sha256');
      let done = 0;
      let pending = size > 0 ? handle.read(bytes, 0, Math.min(READ_CHUNK, size), 0) : null;
      while (pending) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) break;
        const start = done;
        done += bytesRead;
        pending = done < size ? handle.read(bytes, done, Math.min(READ_CHUNK, size - done), done) : null;
        digest.update(bytes.subarray(start, done));
      }
      if (done < size) bytes = bytes.subarray(0, done);
      actual = digest.digest('hex');
    } finally {
      await handle.close();
    }
    if (actual !== hash) throw new BlobFault('corrupt', hash, actual, `blob ${hash} has sha256 ${actual} (${bytes.byteLength} bytes at ${from})`);
    return bytes;
  }

  /**
   * Verify a blob without keeping its bytes: read through two pooled chunk buffers, hashing one while the next is
   * read, so a big checkpoint is verified without allocating (and first touching) memory of its size.
   * @example const size = await blobs.check(hash) // throws BlobFault when missing or corrupt
   */
  async check(hash: string, from: string = this.path(hash)): Promise<number> {
    const handle = await openBlob(hash, from);
    let digest: { hash: string; bytes: number };
    try {
      digest = await digestOpenFile(handle, (await handle.stat()).size);
    } finally {
      await handle.close();
    }
    if (digest.hash !== hash) throw new BlobFault('corrupt', hash, digest.hash, `blob ${hash} has sha256 ${digest.hash} (${digest.bytes} bytes at ${from})`);
    return digest.bytes;
  }

  /**
   * Delete blobs and fsync their directories; returns how many existed and their total size.
   * @example const { deleted, bytes } = await blobs.remove(['ab12…'])
   */
  async remove(hashes: Iterable<string>): Promise<{ deleted: number; bytes: number }> {
    let deleted = 0;
    let bytes = 0;
    const dirs = new Set<string>();
    for (const hash of hashes) {
      const size = await this.size(hash);
      if (size === null) continue;
      // Bounded: without a watcher nobody consumes these.
      if (this.ownDeletes.size > 100_000) this.ownDeletes.clear();
      this.ownDeletes.add(hash);
      try {
        await unlink(this.path(hash));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      deleted++;
      bytes += size;
      dirs.add(join(this.objectsDir, hash.slice(0, 2)));
    }
    for (const dir of dirs) await fsyncDir(dir).catch(() => undefined);
    return { deleted, bytes };
  }

  /** Every blob on disk (name and size); files whose name is not a hash are ignored. */
  async list(): Promise<BlobInfo[]> {
    const found: BlobInfo[] = [];
    let prefixes: string[];
    try {
      prefixes = await readdir(this.objectsDir);
    } catch {
      return found;
    }
    for (const prefix of prefixes.sort()) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.objectsDir, prefix));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        const hash = prefix + name;
        if (!isBlobHash(hash)) continue;
        const size = await this.size(hash);
        if (size !== null) found.push({ hash, size });
      }
    }
    return found;
  }

  /** Leftover temp files (writes that never finished); staging directories are not temp files (staged.ts). */
  async temps(): Promise<string[]> {
    try {
      return (await readdir(this.tmpDir)).filter((name) => name !== 'staging').map((name) => join(this.tmpDir, name));
    } catch {
      return [];
    }
  }
}

/**
 * sha256 (hex) of a file, streamed (two pooled 1 MiB buffers, whatever its size).
 * @example const hash = await hashFile('/ckpt/tmp/staging/4242-1/s1-0')
 */
export async function hashFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    return (await digestOpenFile(handle, (await handle.stat()).size)).hash;
  } finally {
    await handle.close();
  }
}

/** Chunk buffers of finished digests, reused: fresh memory is slow to touch the first time (bench:big). */
const chunkPool: Buffer[] = [];
const CHUNK_POOL_MAX = 16;

/**
 * sha256 (hex) of an open file's first `size` bytes (fewer when it ends first: `bytes` says how many), reading the
 * next chunk while hashing the previous one.
 */
async function digestOpenFile(handle: FileHandle, size: number): Promise<{ hash: string; bytes: number }> {
  const digest = createHash('sha256');
  const buffers = [chunkPool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK), chunkPool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK)];
  let done = 0;
  let turn = 0;
  try {
    let pending = size > 0 ? handle.read(buffers[0], 0, Math.min(READ_CHUNK, size), 0) : null;
    while (pending) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      done += bytesRead;
      turn ^= 1;
      pending = done < size ? handle.read(buffers[turn], 0, Math.min(READ_CHUNK, size - done), done) : null;
      digest.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    // No read is in flight here: each is awaited before the next is issued, and a failed one throws at its await.
    for (const b of buffers) if (chunkPool.length < CHUNK_POOL_MAX) chunkPool.push(b);
  }
  return { hash: digest.digest('hex'), bytes: done };
}

/** Open a blob's file for reading; BlobFault('missing') when it is not there. */
async function openBlob(hash: string, from: string): Promise<FileHandle> {
  try {
    return await open(from, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobFault('missing', hash, null, `blob ${hash} is missing (${from})`);
    throw error;
  }
}

function stagedMismatch(path: string, detail: string): CkptError {
  return new CkptError('STORE_STAGED_MISMATCH', `staged file ${path} ${detail}; nothing was committed from it`, { details: { file: path } });
}
