import { join } from 'node:path';
import { build } from 'tsup';

const OUT_DIR = 'node_modules/.cache/ckpt-test';

/**
 * Bundles test/ledger.<name>-child.ts into plain JavaScript once per test process and returns its path, so
 * the many child processes the lock and crash tests start run on bare `node` (no TypeScript loader start-up).
 * Dependencies stay external and resolve from the repository's node_modules.
 * @example spawn(process.execPath, [await bundledChild('crash'), dir])
 */
export function bundledChild(name: 'crash' | 'lock'): Promise<string> {
  let built = bundles.get(name);
  if (built === undefined) {
    built = bundle(name);
    bundles.set(name, built);
  }
  return built;
}

const bundles = new Map<string, Promise<string>>();

async function bundle(name: string): Promise<string> {
  await build({
    entry: { [`ledger-${name}-child`]: `test/ledger.${name}-child.ts` },
    format: ['esm'], outDir: OUT_DIR, config: false, silent: true, dts: false, clean: false, sourcemap: false, target: 'node20', platform: 'node',
  });
  return join(OUT_DIR, `ledger-${name}-child.js`);
}
