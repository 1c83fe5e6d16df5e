/**
 * A push queue read as an async iterator: producers `push`, `fail` or `end`; one consumer awaits items in order.
 * After the queue drains, a failure is thrown, and an ended queue finishes the iteration.
 *
 * @example
 *   const q = createAsyncQueue<number>();
 *   source.on('data', (n) => q.push(n)); source.on('end', () => q.end());
 *   for await (const n of q) console.log(n);
 */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(item: T): void;
  /** Remember the first failure; the iterator throws it once the items before it are consumed. */
  fail(error: unknown): void;
  end(): void;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  return {
    push(item) {
      items.push(item);
      notify();
    },
    fail(error) {
      failure ??= error;
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (items.length) yield items.shift()!;
        if (failure !== undefined) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
