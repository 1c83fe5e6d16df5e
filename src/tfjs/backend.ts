/**
 * Picks the fastest tfjs backend that loads in this process: `@tensorflow/tfjs-node` (native, an optional
 * dependency), else `wasm` (@tensorflow/tfjs-backend-wasm, its .wasm files loaded from the package's dist
 * folder), else the pure-JS `cpu` backend. The chosen name is what a trainer reports in `hello`.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);

/** Options for {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Only try these, in this order. Default: the env var CKPT_BACKEND (comma list), else all three. */
  prefer?: readonly BackendName[];
}

let selected: Promise<BackendName> | undefined;

/**
 * Select and initialise the best available tfjs backend, once per process; returns its name.
 * @example const backend = await selectBackend(); // 'wasm' on a machine without tfjs-node
 */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendName> {
  if (!selected || options.prefer) selected = choose(options.prefer ?? preferenceFromEnv());
  return selected;
}

function preferenceFromEnv(): BackendName[] {
  const env = process.env.CKPT_BACKEND?.split(',').map((s) => s.trim()).filter(Boolean) as BackendName[] | undefined;
  return env?.length ? env : ['tensorflow', 'wasm', 'cpu'];
}

async function choose(order: readonly BackendName[]): Promise<BackendName> {
  for (const name of order) {
    if (await tryBackend(name)) return name;
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow') {
      // tfjs-node registers the 'tensorflow' backend as a side effect of loading; absent here is normal.
      const specifier = '@tensorflow/tfjs-node';
      await import(specifier);
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      wasm.setWasmPaths(dist + sep);
    }
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}
