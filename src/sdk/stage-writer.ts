/**
 * The trainer's half of the `stage` capability (docs/protocol.md, "Staged tensors"): a state's tensor bytes are
 * written as files into the supervisor's staging directory on libuv's I/O threads while the training loop goes
 * on, and the reply names them. At most `maxInFlight` saves are written at once; a further one waits for the oldest
 * (honest backpressure: the loop waits only when the disk is behind).
 *
 * @example
 *   const writer = new StageWriter('/ckpt/tmp/staging/4242-1', 2);
 *   await writer.submit(state, (staged) => send({ type: 'state', requestId, state: staged }), (error) => sendError(error));
 *   await writer.settled(); // before exiting
 */
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointState, StagedTensor, TensorData, WireState } from '../checkpoint.js';
import { mapTensors } from '../protocol/staged.js';

export class StageWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private count = 0;

  constructor(readonly dir: string, private readonly maxInFlight: number) {}

  /**
   * Start writing `state` (resolves once it is under way: at once, or after the oldest save finished when
   * `maxInFlight` are being written). `reply` gets the staged state when every file is closed; `fail` gets the
   * error (STORE_NO_SPACE or STAGE_FAILED) after the files written for it were deleted.
   */
  async submit(state: CheckpointState, reply: (staged: WireState) => void, fail: (error: Error & { code: string }) => void): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const prefix = `s${++this.count}`;
    const job = this.write(state, prefix).then(reply, fail).finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  /** Resolves when every save under way has replied or failed. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private async write(state: CheckpointState, prefix: string): Promise<WireState> {
    const written: string[] = [];
    let n = 0;
    try {
      return await mapTensors<TensorData, StagedTensor>(state, async (tensor) => {
        const file = `${prefix}-${n++}`;
        const path = join(this.dir, file);
        const handle = await open(path, 'wx');
        written.push(path);
        try {
          let done = 0;
          while (done < tensor.data.byteLength) done += (await handle.write(tensor.data, done, tensor.data.byteLength - done)).bytesWritten;
        } finally {
          await handle.close();
        }
        return { name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, file, bytes: tensor.data.byteLength };
      }, 2);
    } catch (error) {
      await Promise.all(written.map((path) => unlink(path).catch(() => undefined)));
      const e = error as NodeJS.ErrnoException;
      const code = e.code === 'ENOSPC' ? 'STORE_NO_SPACE' : 'STAGE_FAILED';
      throw Object.assign(new Error(`staging the state failed: ${e.message}`), { code });
    }
  }
}
