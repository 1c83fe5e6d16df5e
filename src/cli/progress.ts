/**
 * Progress bars for long work (train, export, verify, import, gc): a cli-progress bar on stderr when stderr is
 * a TTY and output is not JSON; silent otherwise so scripts and logs stay clean.
 */
import cliProgress from 'cli-progress';
import type { Output } from './output.js';

export interface Progress {
  /** Advance by `n` (default 1), optionally changing the label. */
  tick(n?: number, label?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * @example const bar = startProgress(out, 'verify', ids.length); for (const id of ids) { ...; bar.tick(1, id) } bar.stop()
 */
export function startProgress(out: Output, title: string, total: number): Progress {
  if (out.json || !out.stderr.isTTY) return { tick() {}, setTotal() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title.padEnd(8)} {bar} {value}/{total} {label}`, stream: out.stderr as NodeJS.WritableStream, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: '' });
  return {
    tick: (n = 1, label = '') => bar.increment(n, { label }),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}
