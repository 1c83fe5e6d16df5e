/**
 * Runs async jobs one at a time, in the order they were queued. The supervisor funnels every trainer message
 * and every background result through one of these, so policy decisions never interleave.
 *
 * @example
 *   const queue = new SerialQueue();
 *   await queue.run(async () => append(event));
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pendingJobs = 0;

  /** Number of queued or running jobs. */
  get size(): number {
    return this.pendingJobs;
  }

  /** Queue `job`; the promise settles with the job's own result once it ran. */
  run<T>(job: () => Promise<T> | T): Promise<T> {
    this.pendingJobs++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => { this.pendingJobs--; },
      () => { this.pendingJobs--; },
    );
    return result;
  }

  /** Resolves once every job queued so far has settled. */
  async drain(): Promise<void> {
    while (this.pendingJobs > 0) await this.tail;
  }
}
