/**
 * Human output of a training run: one cli-progress bar per epoch (batches, ETA, live loss, from `batch_end`)
 * and one line per decision with its reason. When the output is not a TTY, bars are left out and only the
 * decision and lifecycle lines are written, so logs stay readable.
 *
 * @example
 *   const progress = createProgress(process.stdout, { epochs: 5 });
 *   progress.batch({ epoch: 1, batch: 10, step: 10, metrics: { loss: 0.7 } });
 *   progress.line('run-1 started: mnist-mlp on wasm');
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { Decision, Metrics } from '../events.js';

export interface RunProgress {
  /** Batches per epoch, once known (from hello or the first finished epoch). */
  setBatchesPerEpoch(n: number): void;
  batch(b: { epoch: number; batch: number; step: number; metrics: Metrics }): void;
  epoch(e: { epoch: number; step: number; metrics: Metrics; ms: number }): void;
  decision(d: Decision): void;
  line(text: string): void;
  close(): void;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Math.abs(v) >= 1000 || v === 0 ? String(v) : v.toPrecision(4)) : String(v));
const metricsText = (m: Metrics): string => Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join('  ');

/** Output that writes nothing (for `out: null` and benchmarks). */
export const silentProgress: RunProgress = {
  setBatchesPerEpoch() {}, batch() {}, epoch() {}, decision() {}, line() {}, close() {},
};

/**
 * Progress bars on a TTY, plain lines elsewhere.
 * @example createProgress(process.stdout, { epochs: 3 }).line('hello')
 */
export function createProgress(out: NodeJS.WritableStream, options: { epochs: number; color?: boolean }): RunProgress {
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const colors = pc.createColors(options.color ?? tty);
  let bar: cliProgress.SingleBar | null = null;
  let barEpoch = 0;
  let perEpoch = 0;
  let closed = false;
  // `ckpt train | head`: a closed pipe must not take training down with it.
  out.on('error', () => { closed = true; });

  const stopBar = (): void => {
    if (bar) bar.stop();
    bar = null;
  };
  const write = (text: string): void => {
    stopBar();
    if (!closed) out.write(text + '\n');
  };

  return {
    setBatchesPerEpoch(n) {
      if (n > 0) perEpoch = n;
    },
    batch(b) {
      if (!tty || closed) return;
      if (!bar || barEpoch !== b.epoch) {
        stopBar();
        barEpoch = b.epoch;
        bar = new cliProgress.SingleBar({
          stream: out,
          format: `epoch ${b.epoch}/${options.epochs} [{bar}] {value}/{total} batches | ETA {eta}s | loss {loss}`,
          hideCursor: null,
          clearOnComplete: true,
          fps: 5,
        }, cliProgress.Presets.shades_classic);
        bar.start(Math.max(perEpoch, b.batch), 0, { loss: '…' });
      }
      if (b.batch > bar.getTotal()) bar.setTotal(b.batch);
      bar.update(b.batch, { loss: fmt(b.metrics.loss ?? Object.values(b.metrics)[0] ?? NaN) });
    },
    epoch(e) {
      if (!tty) return;
      write(`${colors.bold(`epoch ${e.epoch}/${options.epochs}`)}  ${metricsText(e.metrics)}  ${colors.dim(`${Math.round(e.ms)} ms`)}`);
    },
    decision(d) {
      const tag = d.kind === 'save' ? colors.green('save ') : d.kind === 'skip' ? colors.dim('skip ')
        : d.kind === 'prune' ? colors.yellow('prune') : d.kind === 'stop' || d.kind === 'warn' ? colors.red(d.kind.padEnd(5))
        : colors.cyan(d.kind.padEnd(5));
      const where = d.epoch !== undefined && !d.reason.includes(`epoch ${d.epoch}`) ? `epoch ${d.epoch}: ` : '';
      write(`  ${tag} ${where}${d.reason}${colors.dim(` (${d.rule})`)}`);
    },
    line(text) {
      write(text);
    },
    close() {
      stopBar();
    },
  };
}
