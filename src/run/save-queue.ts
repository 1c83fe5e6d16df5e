/**
 * Background checkpoint writes, one in flight at a time: the trainer already handed its state over, so training
 * continues while blobs are written; a second save waits for the first (ordered commits). `room(n)` lets a caller
 * wait until fewer than n saves are pending before it asks for another state (bounded memory and staged files).
 *
 * @example
 *   const saves = new SaveQueue();
 *   await saves.room(2);
 *   saves.enqueue(() => store.commit(state, meta)).then(onCommitted, onFailed);
 *   await saves.drain();
 */
import { SerialQueue } from './serial-queue.js';

export class SaveQueue {
  private readonly queue = new SerialQueue();
  private inFlightCount = 0;
  private readonly waiting: { limit: number; resolve(): void }[] = [];

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
        // One waiter at a time: it enqueues before the next is let go.
        if (this.waiting.length > 0 && this.inFlightCount < this.waiting[0].limit) this.waiting.shift()!.resolve();
      }
    });
  }

  /** Resolves once fewer than `limit` saves are waiting or being written (at once when that is so already). */
  room(limit: number): Promise<void> {
    if (this.inFlightCount < limit && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ limit, resolve }));
  }

  /** Resolves when every queued write settled (successfully or not). */
  drain(): Promise<void> {
    return this.queue.drain();
  }
}
