/**
 * The store's side of staged tensors (protocol capability `stage`, docs/protocol.md "Staged tensors"): where
 * staging directories live (`<store>/tmp/staging/<pid>-<n>`, on the blobs' own file system so adoption is a
 * rename), naming a trainer's staged files by absolute path, reading staged tensors back verified, and the weights
 * digest of a state whose tensors may be files. Adoption itself is a blob round's `adopt` (blobs.ts).
 */
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isStaged, type CheckpointState, type StagedTensor, type TensorData, type WireState } from '../checkpoint.js';
import { CkptError } from '../errors.js';
import { allTensors, isPlainName, mapTensors, readStaged } from '../protocol/staged.js';
import { type BlobBackend, BlobStore, hashBlob, hashFile } from './blobs.js';
import { weightsDigestOfTensorHashes } from './digest.js';

let sessions = 0;

/** Where a store's staging directories go, or null when its blobs are not local files (S3: frames carry tensors). */
export function stagingRoot(blobs: BlobBackend): string | null {
  return blobs instanceof BlobStore ? join(blobs.tmpDir, 'staging') : null;
}

/**
 * A new, empty staging directory for one trainer session of this process.
 * @example const dir = await createStagingDir('/ckpt/tmp/staging') // '/ckpt/tmp/staging/4242-1'
 */
export async function createStagingDir(root: string): Promise<string> {
  const dir = join(root, `${process.pid}-${++sessions}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Remove the staging directories of processes that are not alive any more (left by a SIGKILLed supervisor).
 * Returns how many were removed (one that cannot be removed now is left, never thrown).
 * @example await removeStagingDirs(root)
 */
export async function removeStagingDirs(root: string): Promise<number> {
  let removed = 0;
  // A dead supervisor's trainer writes on into its directory until it sees its stdin closed (its stage worker runs
  // while a batch does): a file it creates meanwhile fails the removal (ENOTEMPTY). That directory is left for the
  // next `ckpt train` or `ckpt gc`; it never fails them.
  for (const dir of await staleStagingDirs(root)) if (await rm(dir, { recursive: true, force: true, maxRetries: 2 }).then(() => true, () => false)) removed++;
  return removed;
}

/** Staging directories whose supervisor process is not alive (what a SIGKILL left). */
export async function staleStagingDirs(root: string): Promise<string[]> {
  return (await stagingDirs(root)).filter((d) => d.pid !== process.pid && !isAlive(d.pid)).map((d) => d.path);
}

async function stagingDirs(root: string): Promise<{ path: string; pid: number }[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const pid = Number(/^(\d+)-\d+$/.exec(name)?.[1]);
    return Number.isInteger(pid) && pid > 0 ? [{ path: join(root, name), pid }] : [];
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A trainer's state reply with each staged `file` name made an absolute path in the session's staging directory.
 * A name that is not plain, or a staged tensor when no directory was offered, is STORE_STAGED_MISMATCH.
 * @example const state = inStagingDir(reply.state, '/ckpt/tmp/staging/4242-1')
 */
export function inStagingDir(state: WireState, dir: string | null): WireState {
  const objects = Object.fromEntries(Object.entries(state.objects).map(([name, object]) => {
    const place = (t: (typeof object.weights)[number]) => {
      if (!isStaged(t)) return t;
      if (dir === null) throw new CkptError('STORE_STAGED_MISMATCH', `tensor '${t.name}' is staged as a file, but no staging directory was offered; send its bytes in the frame`);
      if (typeof t.file !== 'string' || !isPlainName(t.file)) throw new CkptError('STORE_STAGED_MISMATCH', `staged tensor '${t.name}' names '${String(t.file)}'; a staged file is a plain name in the staging directory`);
      return { ...t, file: join(dir, t.file) };
    };
    return [name, { ...object, weights: object.weights.map(place), ...(object.optimizer ? { optimizer: { ...object.optimizer, slots: object.optimizer.slots.map(place) } } : {}) }];
  }));
  return { ...state, objects };
}

/**
 * Delete the staged files a state names (none when it is too malformed to walk): a reply handed over, or refused.
 * @example await discardStaged(reply.state)
 */
export async function discardStaged(state: WireState): Promise<void> {
  let files: string[];
  try {
    files = allTensors(state).filter((t) => t && isStaged(t)).map((t) => (t as StagedTensor).file);
  } catch {
    return;
  }
  await Promise.all(files.map((file) => unlink(file).catch(() => undefined)));
}

/**
 * A staged tensor read into memory with its length and (when known) its sha256 checked; STORE_STAGED_MISMATCH when
 * it is not what it says.
 */
export async function readVerified(t: StagedTensor): Promise<TensorData> {
  const read = await readStaged(t).catch((error: Error) => {
    throw new CkptError('STORE_STAGED_MISMATCH', `${error.message}; nothing was taken from it`, { cause: error });
  });
  if (t.sha256 !== undefined && (await hashBlob(read.data)) !== t.sha256) {
    throw new CkptError('STORE_STAGED_MISMATCH', `staged file ${t.file} does not have the sha256 it is named by (${t.sha256})`);
  }
  return read;
}

/** The state with every staged tensor read into memory, verified (for a peer that takes frames only). */
export function inMemoryVerified(state: WireState): Promise<CheckpointState> {
  return mapTensors(state, async (t) => (isStaged(t) ? readVerified(t) : t));
}

/**
 * weightsDigest (digest.ts) of a state whose weight tensors may be staged: a staged tensor's sha256 is taken as
 * given or hashed from its file.
 */
export async function wireWeightsDigest(state: WireState): Promise<string> {
  const weights = Object.keys(state.objects).sort().flatMap((name) => state.objects[name].weights);
  const hashes: string[] = [];
  for (const t of weights) hashes.push(!isStaged(t) ? await hashBlob(t.data) : t.sha256 ?? await hashFile(t.file));
  return weightsDigestOfTensorHashes(hashes);
}
