/**
 * Stdout carries protocol frames only. Importing this module first (before tfjs or anything that might print)
 * routes every other write to process.stdout — console.log/info/warn/debug included — to stderr, and keeps the
 * real stdout writer for frames. Idempotent.
 */
type Write = typeof process.stdout.write;

const KEY = Symbol.for('ckpt.trainer.frameWriter');
const holder = globalThis as unknown as Record<symbol, Write | undefined>;

if (!holder[KEY]) {
  holder[KEY] = process.stdout.write.bind(process.stdout) as Write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as Write;
}

/**
 * Write raw bytes to the real stdout (frames only); resolves once the bytes are handed to the OS.
 * @example await writeFrameBytes(encodeFrame({ type: 'log', level: 'info', message: 'hi' }))
 */
export function writeFrameBytes(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    holder[KEY]!(bytes, (error) => (error ? reject(error) : resolve()));
  });
}
