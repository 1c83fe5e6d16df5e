/**
 * Checkpoint writes that run while training goes on: the model's state is copied when the save is decided, and
 * the store writes it in the background, in order. FitRun drains before queueing the next save, so one save is
 * in flight at a time — the supervisor's contract. A failed write fails the next epoch end (and so `fit`).
 */
export class BackgroundSaves {
  private tail: Promise<unknown> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  /**
   * Queue one write after the ones already queued; the returned promise settles with its result.
   * @example const committed = saves.enqueue(() => store.commit(state, meta))
   */
  enqueue<T>(write: () => Promise<T>): Promise<T> {
    const result = this.tail.then(write);
    this.tail = result.catch((error) => { this.failure ??= { error }; });
    return result;
  }

  /** Throw the first write failure, if any. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Wait until every queued write has settled; then throw the first failure, if any.
   * @example await saves.drain()
   */
  async drain(): Promise<void> {
    await this.tail;
    this.throwIfFailed();
  }
}
