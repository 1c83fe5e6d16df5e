// Shared by the torch.* suites: where the PyTorch SDK and trainer live, the Python that has torch, and a small
// configuration (20 batches of 50 per epoch) that keeps real-process suites fast on a loaded 2-core machine.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TORCH_SDK = fileURLToPath(new URL('../trainers/python', import.meta.url));
export const TORCH_MNIST = `${TORCH_SDK}/torch_mnist.py`;
/** Debian's python3 has torch 1.13, numpy and msgpack; a pyenv `python3` on PATH does not. */
export const PYTHON = process.env.CKPT_PYTHON ?? '/usr/bin/python3';

export const TORCH_CONFIG = { batchSize: 50, trainSize: 1000, validationSize: 200, testSize: 200 };

/** Run a Python snippet with the SDK folder importable; returns stdout, throws with stderr on failure. */
export function python(code: string, env: Record<string, string> = {}): string {
  const out = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: TORCH_SDK, CKPT_NODE: process.execPath, ...env }, timeout: 180_000 });
  if (out.status !== 0) throw new Error(`python exited ${out.status}: ${out.stderr.slice(-3000)}`);
  return out.stdout;
}

/** Process ids whose parent is `pid` (from /proc), e.g. the trainer a `ckpt train` process spawned. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
