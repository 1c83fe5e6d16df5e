/**
 * `ckpt train --serve` after training: the run's server closed with the workspace, so the directory is served
 * again on the same port (same write token: an open page's stream resumes with Last-Event-ID and its buttons
 * keep working) until Ctrl-C.
 */
import { serve } from '../server/serve.js';

/**
 * Serve `dir` on `port` until SIGINT/SIGTERM, saying so.
 * @example await keepServing('./checkpoints', 6006, { writeToken }, process.stdout)
 */
export async function keepServing(dir: string, port: number, writes: { writeToken?: string; readOnly?: boolean }, out: NodeJS.WritableStream): Promise<void> {
  const handle = await serve({ dir, port, ...writes });
  out.write(`training ended; still serving the dashboard at ${handle.pageUrl} — Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await handle.close();
}
