/**
 * An in-process mutex: store operations that write or delete blobs (commit, prune, gc, import) run one at a
 * time, so a commit never dedupes against a blob that a concurrent prune is deleting.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `task` after every earlier task settled. @example await mutex.run(() => write()) */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
