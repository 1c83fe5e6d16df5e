/**
 * Staged tensors (capability `stage`, docs/protocol.md "Staged tensors"): the few operations both ends of the
 * protocol need on a state whose tensor bytes may be files — walk every tensor of a state, read a staged file back
 * into memory, and check a staged file name. The SDK and the supervisor both use these; the store's adoption of
 * staged files lives with the store (src/store/staged-adopt.ts).
 */
import { open } from 'node:fs/promises';
import { isStaged, type CheckpointState, type ObjectState, type StagedTensor, type TensorData, type WireState, type WireTensor } from '../checkpoint.js';
import { CkptError } from '../errors.js';

/** A staged file name a trainer may use: plain, inside the staging directory. */
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

/** True for a file name allowed in `dir/<file>` (no separators, not `.` or `..`). @example isPlainName('r1-0') // true */
export function isPlainName(file: string): boolean {
  return PLAIN_NAME.test(file) && file !== '.' && file !== '..';
}

/**
 * A copy of `state` with every tensor (weights and optimizer slots of every object) replaced by `fn(tensor)`, run
 * with at most `concurrency` at once; everything else is shared. The one walk over a state's tensors.
 * @example const inMemory = await mapTensors(wire, (t) => isStaged(t) ? readStaged(t) : t)
 */
export async function mapTensors<A extends WireTensor, B extends WireTensor>(
  state: CheckpointState<A>,
  fn: (tensor: A) => Promise<B>,
  concurrency = 4,
): Promise<CheckpointState<B>> {
  const jobs: { tensor: A; put(value: B): void }[] = [];
  const objects: Record<string, ObjectState<B>> = {};
  for (const [name, object] of Object.entries(state.objects)) {
    const weights = new Array<B>(object.weights.length);
    object.weights.forEach((tensor, i) => jobs.push({ tensor, put: (v) => (weights[i] = v) }));
    const mapped: ObjectState<B> = { ...object, weights, optimizer: undefined };
    if (object.optimizer) {
      const slots = new Array<B>(object.optimizer.slots.length);
      object.optimizer.slots.forEach((tensor, i) => jobs.push({ tensor, put: (v) => (slots[i] = v) }));
      mapped.optimizer = { ...object.optimizer, slots };
    } else {
      delete mapped.optimizer;
    }
    objects[name] = mapped;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      job.put(await fn(job.tensor));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return { ...state, objects };
}

/** Every tensor of a state, weights and optimizer slots, objects in insertion order. */
export function allTensors<T extends WireTensor>(state: CheckpointState<T>): T[] {
  return Object.values(state.objects).flatMap((o) => [...o.weights, ...(o.optimizer?.slots ?? [])]);
}

/**
 * Read a staged tensor's file into memory (its own ArrayBuffer at offset 0), checking its length. Reading only:
 * the file is never changed. Throws STAGE_FAILED when it cannot be read or has another length.
 * @example const t = await readStaged({ name: 'w', dtype: 'float32', shape: [2], file: '/s/blob', bytes: 8 })
 */
export async function readStaged(tensor: StagedTensor): Promise<TensorData> {
  let data: Uint8Array;
  try {
    const handle = await open(tensor.file, 'r');
    try {
      const { size } = await handle.stat();
      if (size !== tensor.bytes) throw new CkptError('STAGE_FAILED', `staged tensor '${tensor.name}' (${tensor.file}) has ${size} bytes, not ${tensor.bytes}`);
      data = new Uint8Array(new ArrayBuffer(size));
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(data, done, size - done, done);
        if (bytesRead === 0) throw new CkptError('STAGE_FAILED', `staged tensor '${tensor.name}' (${tensor.file}) ended after ${done} of ${size} bytes`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof CkptError) throw error;
    throw new CkptError('STAGE_FAILED', `cannot read staged tensor '${tensor.name}' (${tensor.file}): ${(error as Error).message}`, { cause: error });
  }
  return { name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, data };
}

/**
 * A state with its staged tensors read into memory, unverified (the trainer's side: the supervisor verified the
 * files it hands over).
 * @example const state = await readStagedState(start.state)
 */
export function readStagedState(state: WireState): Promise<CheckpointState> {
  return mapTensors<WireTensor, TensorData>(state, async (t) => (isStaged(t) ? readStaged(t) : t));
}

/**
 * The state itself, typed as in memory, when none of its tensors is staged (a peer that was given no staging
 * directory); else STAGE_FAILED.
 * @example const state = assertInMemory(reply.state, 'save reply')
 */
export function assertInMemory(state: CheckpointState<WireTensor>, where: string): CheckpointState {
  const staged = allTensors(state).find((t) => (t as Partial<TensorData>).data === undefined);
  if (staged) throw new CkptError('STAGE_FAILED', `${where}: tensor '${staged.name}' is staged as a file, but no staging directory was offered`);
  return state as CheckpointState;
}
