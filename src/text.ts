/**
 * Plain-English helpers for the lines ckpt prints and records.
 */

/**
 * A count with its noun, singular for exactly one.
 * @example plural(1, 'epoch') // '1 epoch'
 * @example plural(3, 'blob') // '3 blobs'
 */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : many}`;
}
