/**
 * Flattens an async iterable of arrays into an async iterable of items without an async generator frame per
 * item: a `next()` that has a buffered item returns an already-resolved promise. Replaying 1M events this
 * way costs one microtask per event instead of several.
 * @example for await (const event of flattenChunks(chunks())) console.log(event.seq)
 */
export function flattenChunks<T>(chunks: AsyncIterable<T[]>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const source = chunks[Symbol.asyncIterator]();
      let chunk: T[] = [];
      let index = 0;
      const pull = async (): Promise<IteratorResult<T>> => {
        for (;;) {
          const next = await source.next();
          if (next.done) return { done: true, value: undefined };
          if (next.value.length > 0) {
            chunk = next.value;
            index = 1;
            return { done: false, value: chunk[0] };
          }
        }
      };
      return {
        next: () => (index < chunk.length ? Promise.resolve({ done: false, value: chunk[index++] }) : pull()),
        return: async (): Promise<IteratorResult<T>> => {
          chunk = [];
          await source.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
