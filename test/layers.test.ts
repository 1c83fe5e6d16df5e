/**
 * Dependencies point one way (docs/architecture.md, DESIGN.md "Layers"): trainers → (SDK + protocol) ← src → ledger.
 * Reads every import of every .ts file under trainers/, src/ and ledger/ (static, type-only and dynamic) and
 * fails on an arrow the wrong way, and on an import cycle inside the SDK and the protocol.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What a trainer may import from src/: the published SDK (`ckpt/trainer`, `ckpt/trainer/tfjs`) and the protocol. */
const SDK = [/^src\/trainer\.ts$/, /^src\/sdk\//, /^src\/protocol\//];

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return tsFiles(path);
    return /\.(ts|mts)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative import of a file, as a repository path (`.js` specifiers name the `.ts` source). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'));
}

const graph = new Map<string, string[]>(['trainers', 'src', 'ledger'].flatMap((dir) => tsFiles(dir).map((f) => [f, importsOf(f)] as [string, string[]])));

function violations(from: RegExp, allowed: (target: string) => boolean): string[] {
  return [...graph].flatMap(([file, targets]) => (from.test(file) ? targets.filter((t) => !allowed(t)).map((t) => `${file} → ${t}`) : []));
}

test('given the import graph, when the files are read, then it is not empty (the scanner sees imports)', () => {
  assert.ok(graph.size > 100, `${graph.size} files`);
  assert.ok(graph.get('src/trainer.ts')!.includes('src/sdk/run-trainer.ts'));
  assert.ok(graph.get('trainers/mnist-mlp.ts')!.includes('src/trainer.ts'));
});

test('given trainers/, when its imports are read, then it reaches into src/ only through the SDK and the protocol', () => {
  assert.equal(violations(/^trainers\//, (t) => !t.startsWith('src/') || SDK.some((r) => r.test(t))), []);
});

test('given src/, when its imports are read, then none reaches into trainers/ (built-in trainers are resolved by path)', () => {
  assert.equal(violations(/^src\//, (t) => !t.startsWith('trainers/')), []);
});

test('given ledger/, when its imports are read, then none reaches into src/ or trainers/', () => {
  assert.equal(violations(/^ledger\//, (t) => !t.startsWith('src/') && !t.startsWith('trainers/')), []);
});

test('given the SDK and the protocol, when their imports are followed, then there is no cycle', () => {
  const inScope = (f: string) => SDK.some((r) => r.test(f));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') { cycles.push([...path.slice(path.indexOf(file)), file].join(' → ')); return; }
    state.set(file, 'open');
    for (const t of graph.get(file) ?? []) if (inScope(t)) visit(t, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (inScope(file)) visit(file, []);
  assert.equal(cycles, []);
});

test.run();
