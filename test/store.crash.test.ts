import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openWorkspace } from '../src/workspace.js';
import type { CatalogState } from '../src/projections/catalog.js';
import { tempDir } from './store.fixtures.js';

const SOURCE = fileURLToPath(new URL('./store.crash-child.ts', import.meta.url));
// The child is bundled once with esbuild (next to node_modules, so its imports resolve): a plain `node` start
// is several times faster than going through tsx on every one of the kills.
const BUNDLE_DIR = fileURLToPath(new URL('../node_modules/.cache/ckpt-store-crash/', import.meta.url));
const CHILD = `${BUNDLE_DIR}child-${process.pid}.mjs`;
/** How to start the child: the esbuild bundle when esbuild (a tsup/tsx dependency) is there, else through tsx. */
let childArgs: string[] = ['--import', 'tsx', SOURCE];

async function bundleChild(): Promise<void> {
  try {
    const { build } = await import('esbuild');
    await mkdir(BUNDLE_DIR, { recursive: true });
    await build({ entryPoints: [SOURCE], outfile: CHILD, bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', logLevel: 'error' });
    childArgs = [CHILD];
  } catch {
    // keep the tsx fallback
  }
}
const KILLS = 24;

/** Random delay after the child's first acknowledged commit: lands anywhere in the next commit/prune cycle. */
function delayFor(): number {
  return Math.floor(Math.random() * 60);
}

/** Run the child until `delayMs` after its first commit, SIGKILL it, and return the ids it reported committed. */
function runAndKill(dir: string, round: number, delayMs: number): Promise<{ committed: string[]; pruned: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childArgs, dir, String(round * 1000)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (!armed && out.includes('committed ')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited ${code} before the kill: ${err}`));
      const lines = out.split('\n');
      resolve({
        committed: lines.filter((l) => l.startsWith('committed ')).map((l) => l.slice(10)),
        pruned: lines.filter((l) => l.startsWith('pruned ')).map((l) => l.slice(7)),
      });
    });
  });
}

test(`given a child saving checkpoints, when it is SIGKILLed at ${KILLS} points, then the ledger never references an incomplete checkpoint and gc reclaims every leftover`, async () => {
  const { dir, cleanup } = await tempDir('crash');
  await bundleChild();
  try {
    const acknowledged = new Set<string>();
    let killedMidWrite = 0;
    for (let round = 0; round < KILLS; round++) {
      const { committed } = await runAndKill(dir, round, delayFor());
      committed.forEach((id) => acknowledged.add(id));
      const ws = await openWorkspace(dir);
      try {
        const catalog = ws.ledger.state<CatalogState>('catalog');
        // Every commit the child saw resolve is in the ledger.
        for (const id of acknowledged) assert.ok(catalog.checkpoints[id], `${id} was acknowledged but is not in the ledger (round ${round})`);
        // Interrupted prunes were finished on open.
        assert.equal(catalog.pendingPrunes, {}, `round ${round}`);
        // Every checkpoint the ledger references is complete.
        const results = await ws.store.verify();
        assert.ok(results.length > 0 || round === 0);
        for (const r of results) assert.ok(r.ok, `round ${round}: ${r.checkpoint} is ${r.fault?.kind}: ${r.fault?.detail}`);
        // gc removes exactly what is unreferenced, leaving disk == ledger references.
        const temps = (await readdir(ws.store.blobs.tmpDir)).length;
        const gc = await ws.store.gc();
        if (gc.blobsDeleted > 0 || temps > 0) killedMidWrite++;
        assert.is(gc.tempsDeleted, temps);
        const onDisk = (await ws.store.blobs.list()).map((b) => b.hash).sort();
        const referenced = Object.keys(ws.ledger.state<CatalogState>('catalog').blobRefs).sort();
        assert.equal(onDisk, referenced, `round ${round}: disk and ledger references differ after gc`);
        assert.equal(await readdir(ws.store.blobs.tmpDir), []);
      } finally {
        await ws.close();
      }
    }
    assert.ok(acknowledged.size >= KILLS, `only ${acknowledged.size} commits in ${KILLS} rounds`);
    assert.ok(killedMidWrite >= 1, `no kill left garbage behind; the kills did not land inside writes`);
    console.log(`  ${KILLS} kills, ${acknowledged.size} acknowledged commits, ${killedMidWrite} kills left unreferenced files for gc`);
  } finally {
    await rm(CHILD, { force: true });
    await cleanup();
  }
});

test.run();
