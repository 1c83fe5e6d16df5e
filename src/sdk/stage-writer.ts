/**
 * The trainer's half of the `stage` capability (docs/protocol.md, "Staged tensors"): a state's tensor bytes are
 * written as files into the supervisor's staging directory by a worker thread while the training loop goes on,
 * and the reply names them. The tensors' buffers are lent to the worker (transferred, not copied; shared ones, as
 * capture buffers are, are read in place) and come back when the files are written; until then the state is out (`ready(state)` waits for it). At most `maxInFlight`
 * saves are written at once; a further one waits for the oldest (the loop waits only when the disk is behind).
 *
 * Why a thread and not async fs calls: a trainer's loop gives the event loop one turn per batch, and a chain of
 * open → write → close per tensor needs several turns each, so a reply could lag many batches behind its save.
 * The worker does the whole state in one go; its answer needs one turn.
 *
 * @example
 *   const writer = new StageWriter('/ckpt/tmp/staging/4242-1', 2);
 *   await writer.submit(state, (staged) => send({ type: 'state', requestId, state: staged }), (error) => sendError(error));
 *   await writer.settled(); // before exiting
 */
import { Worker } from 'node:worker_threads';
import type { CheckpointState, StagedTensor, TensorData, WireState } from '../checkpoint.js';
import { allTensors, mapTensors } from '../protocol/staged.js';
import { STAGE_WORKER_SOURCE } from './stage-worker-source.js';

/**
 * What the worker answers: the lent buffers (always, so the state is whole again), an error, if any, and how many
 * files it wrote with direct I/O (stage-worker-source.ts).
 */
interface Answer { buffers: ArrayBufferLike[]; error: { code?: string; message: string } | null; direct: number }

export class StageWriter {
  private readonly inFlight = new Set<Promise<void>>();
  /** States whose buffers are with the worker, and when they are back. */
  private readonly lent = new Map<CheckpointState, Promise<void>>();
  private readonly jobs = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  private worker: Worker | undefined;
  private count = 0;
  /** Files written so far, and how many of them with direct I/O (bypassing the page cache). */
  readonly written = { files: 0, direct: 0 };

  constructor(readonly dir: string, private readonly maxInFlight: number) {}

  /**
   * Start writing `state` (resolves once it is under way: at once, or after the oldest save finished when
   * `maxInFlight` are being written). `reply` gets the staged state when every file is closed; `fail` gets the
   * error (STORE_NO_SPACE or STAGE_FAILED) after the files written for it were deleted.
   */
  async submit(state: CheckpointState, reply: (staged: WireState) => void, fail: (error: Error & { code: string }) => void): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    await this.ready(state);
    const staged = this.write(state, ++this.count);
    const back = staged.then(() => undefined, () => undefined);
    this.lent.set(state, back);
    const job = staged.then(reply, fail).finally(() => {
      this.inFlight.delete(job);
      if (this.lent.get(state) === back) this.lent.delete(state);
    });
    this.inFlight.add(job);
  }

  /** True while `state`'s buffers are with the worker. */
  lends(state: CheckpointState): boolean {
    return this.lent.has(state);
  }

  /** Resolves when `state`'s buffers are back from the worker (at once when they are not out). */
  async ready(state: CheckpointState): Promise<void> {
    await this.lent.get(state);
  }

  /** Resolves when every save under way has replied or failed. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Waits for every save under way, then stops the worker thread (a later submit starts another). */
  async close(): Promise<void> {
    await this.settled();
    await this.worker?.terminate();
    this.worker = undefined;
  }

  /** Lend the tensors' buffers to the worker, get them back with the files written, and name the files. */
  private async write(state: CheckpointState, id: number): Promise<WireState> {
    const prefix = `s${id}`;
    const tensors = allTensors(state);
    const buffers: ArrayBufferLike[] = [];
    const index = new Map<ArrayBufferLike, number>();
    const pieces = tensors.map((t, i) => {
      if (!index.has(t.data.buffer)) index.set(t.data.buffer, buffers.push(t.data.buffer) - 1);
      return { path: `${this.dir}/${prefix}-${i}`, buffer: index.get(t.data.buffer)!, offset: t.data.byteOffset, length: t.data.byteLength };
    });
    const answer = await this.run(id, pieces, buffers);
    if (!answer.error) {
      this.written.files += pieces.length;
      this.written.direct += answer.direct;
    }
    // The views over transferred buffers are empty now: view the returned ones the same way (shared buffers were
    // not transferred; their views stay).
    tensors.forEach((t, i) => {
      if (buffers[pieces[i].buffer] instanceof ArrayBuffer) t.data = new Uint8Array(answer.buffers[pieces[i].buffer], pieces[i].offset, pieces[i].length);
    });
    if (answer.error) {
      const code = answer.error.code === 'ENOSPC' ? 'STORE_NO_SPACE' : 'STAGE_FAILED';
      throw Object.assign(new Error(`staging the state failed: ${answer.error.message}`), { code });
    }
    let i = 0;
    return mapTensors<TensorData, StagedTensor>(state, async (t) => {
      const file = `${prefix}-${i++}`;
      return { name: t.name, dtype: t.dtype, shape: t.shape, file, bytes: t.data.byteLength };
    }, 1);
  }

  private run(id: number, pieces: { path: string; buffer: number; offset: number; length: number }[], buffers: ArrayBufferLike[]): Promise<Answer> {
    const worker = this.start();
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      // Plain ArrayBuffers move to the worker without a copy (Node's pooled ones are copied: it cannot move those).
      worker.postMessage({ id, pieces, buffers }, buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer));
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(STAGE_WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, ...answer }: Answer & { id: number }) => {
      const job = this.jobs.get(id);
      this.jobs.delete(id);
      job?.resolve(answer);
    });
    worker.on('error', (error) => {
      // The lent buffers are lost with the worker: those states' tensors stay empty, which the store refuses.
      for (const job of this.jobs.values()) job.reject(Object.assign(error, { code: 'STAGE_FAILED' }));
      this.jobs.clear();
      this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }
}
