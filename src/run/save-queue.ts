/**
 * Background checkpoint writes, one in flight at a time: the trainer already handed its state over, so training
 * continues while blobs are written; a second save waits for the first (bounded memory, ordered commits).
 *
 * @example
 *   const saves = new SaveQueue();
 *   saves.enqueue(() => store.commit(state, meta)).then(onCommitted, onFailed);
 *   await saves.drain();
 */
import { SerialQueue } from './serial-queue.js';

export class SaveQueue {
  private readonly queue = new SerialQueue();
  private inFlightCount = 0;

  /** Saves waiting or being written. */
  get pending(): number {
    return this.inFlightCount;
  }

  /** Queue one write; resolves with its result when it is durable. */
  enqueue<T>(write: () => Promise<T>): Promise<T> {
    this.inFlightCount++;
    return this.queue.run(async () => {
      try {
        return await write();
      } finally {
        this.inFlightCount--;
      }
    });
  }

  /** Resolves when every queued write settled (successfully or not). */
  drain(): Promise<void> {
    return this.queue.drain();
  }
}
