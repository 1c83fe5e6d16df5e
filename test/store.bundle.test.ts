import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkspace, type Workspace } from '../src/workspace.js';
import { weightsDigest } from '../src/store/digest.js';
import { TAR_END, tarHeader, tarPadding } from '../src/store/tar.js';
import { sha256Hex } from '../src/store/hash.js';
import type { CatalogState } from '../src/projections/catalog.js';
import { meta, modelState, tempDir } from './store.fixtures.js';

function entry(path: string, data: Uint8Array, type = '0', linkname = ''): Buffer {
  const header = tarHeader(path.length <= 100 ? path : 'x', data.byteLength);
  if (path.length > 100) { header.fill(0, 0, 100); header.write(path.slice(-100), 0); }
  if (type !== '0' || linkname) {
    header.write(type, 156, 'ascii');
    header.write(linkname, 157, 'utf8');
    header.write('        ', 148, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  }
  return Buffer.concat([header, Buffer.from(data), tarPadding(data.byteLength)]);
}

async function source(dir: string): Promise<{ ws: Workspace; bundle: string; digest: string }> {
  const ws = await openWorkspace(join(dir, 'src'), { create: true });
  const state = modelState(1, 2);
  await ws.store.commit(modelState(9, 1), meta('run-1', 1, { val_loss: 0.9 }));
  await ws.store.commit(state, meta('run-1', 2, { val_loss: 0.2 }, { tags: ['good'], decisionSeq: 999 }));
  await ws.store.tag('ckpt-2', ['shipped'], 'release candidate');
  await ws.store.pin('ckpt-2', 'ship it');
  const { path } = await ws.store.exportCheckpoint('best', { format: 'bundle', out: join(dir, 'best.ckpt') });
  return { ws, bundle: path, digest: weightsDigest(state) };
}

async function snapshot(ws: Workspace): Promise<{ seq: number; blobs: string[]; tmp: string[] }> {
  return { seq: ws.ledger.lastSeq, blobs: (await ws.store.blobs.list()).map((b) => b.hash), tmp: await readdir(ws.store.blobs.tmpDir) };
}

test('given a bundle of the best checkpoint, when imported into another directory, then it loads with the same weights, keeps its tags and carries its events', async () => {
  const { dir, cleanup } = await tempDir('bundle');
  try {
    const { ws: src, bundle, digest } = await source(dir);
    await src.close();
    const dst = await openWorkspace(join(dir, 'dst'), { create: true });
    await dst.store.commit(modelState(5, 1), meta('run-1', 1, { val_loss: 0.5 }));
    const result = await dst.store.importBundle(bundle);
    assert.equal({ ...result, bytes: 0 }, { checkpoint: 'ckpt-2', originalId: 'ckpt-2', blobs: 6, bytes: 0, alreadyPresent: false });
    const loaded = await dst.store.load('ckpt-2');
    assert.is(weightsDigest(loaded.state), digest);
    const entry = dst.ledger.state<CatalogState>('catalog').checkpoints['ckpt-2'];
    assert.is(entry.run, 'imported:run-1');
    assert.equal(entry.tags, ['good', 'shipped'], 'tags given at commit and added later (issue 14 item 10)');
    assert.is(entry.description, 'release candidate');
    assert.is(entry.importedFrom!.originalId, 'ckpt-2');
    const imported = [];
    for await (const e of dst.ledger.read({ types: ['CheckpointImported'] })) imported.push(e.data as any);
    assert.equal(imported[0].events.map((e: any) => e.type), ['CheckpointCommitted', 'CheckpointTagged', 'CheckpointPinned']);
    const commits = [];
    for await (const e of dst.ledger.read({ types: ['CheckpointCommitted'] })) commits.push(e.data as any);
    assert.is(commits[1].checkpoint, 'ckpt-2');
    assert.is(commits[1].decisionSeq, undefined, 'a source-ledger seq means nothing here');
    const again = await dst.store.importBundle(bundle);
    assert.is(again.alreadyPresent, true);
    assert.is(again.checkpoint, 'ckpt-2');
    await dst.close();
  } finally {
    await cleanup();
  }
});

const hostile: Record<string, { code: string; build: (good: Buffer, header: Buffer) => Buffer }> = {
  'a ../ path': { code: 'STORE_IMPORT_PATH', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), entry('objects/../../evil', Buffer.from('x')), TAR_END]) },
  'an absolute path': { code: 'STORE_IMPORT_PATH', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), entry('/tmp/ckpt-evil-abs', Buffer.from('x')), TAR_END]) },
  'a symlink': { code: 'STORE_IMPORT_LINK', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), entry('objects/aa/link', Buffer.alloc(0), '2', '/etc/passwd'), TAR_END]) },
  'a hard link': { code: 'STORE_IMPORT_LINK', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), entry('objects/aa/link', Buffer.alloc(0), '1', 'ckpt-bundle.json'), TAR_END]) },
  'a huge header': { code: 'STORE_IMPORT_HEADER_TOO_LARGE', build: () => Buffer.concat([entry('ckpt-bundle.json', Buffer.alloc(17 * 1024 * 1024, 0x20)), TAR_END]) },
  'a size beyond the end of the file': { code: 'STORE_IMPORT_MALFORMED', build: (_g, h) => { const e = entry('ckpt-bundle.json', h); e.write('77777777777\0', 124, 'ascii'); e.write('        ', 148, 'ascii'); let s = 0; for (let i = 0; i < 512; i++) s += e[i]; e.write(s.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii'); return e; } },
  'a bad header checksum': { code: 'STORE_IMPORT_MALFORMED', build: (g) => { const b = Buffer.from(g); b[10] ^= 1; return b; } },
  'a flipped bit in a blob': { code: 'STORE_IMPORT_HASH', build: (g, h) => { const b = Buffer.from(g); b[512 + Math.ceil(h.length / 512) * 512 + 512] ^= 1; return b; } },
  'a blob missing': { code: 'STORE_IMPORT_MALFORMED', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), TAR_END]) },
  'not a tar file': { code: 'STORE_IMPORT_MALFORMED', build: () => Buffer.from('{"format":"ckpt.bundle"}') },
  'a commit record with wrong types': { code: 'STORE_IMPORT_MALFORMED', build: (g, h) => {
    const forged = JSON.parse(h.toString('utf8'));
    forged.commit.tags = 5;
    return Buffer.concat([entry('ckpt-bundle.json', Buffer.from(JSON.stringify(forged))), g.subarray(512 + Math.ceil(h.length / 512) * 512)]);
  } },
  'an unexpected file': { code: 'STORE_IMPORT_PATH', build: (_g, h) => Buffer.concat([entry('ckpt-bundle.json', h), entry('run.sh', Buffer.from('rm -rf /')), TAR_END]) },
};

test('given hostile bundles, when imported, then each is refused with its STORE_IMPORT_* code and nothing is written', async () => {
  const { dir, cleanup } = await tempDir('hostile');
  try {
    const { ws: src, bundle } = await source(dir);
    await src.close();
    const good = await readFile(bundle);
    const headerSize = parseInt(good.subarray(124, 135).toString(), 8);
    const header = good.subarray(512, 512 + headerSize);
    const dst = await openWorkspace(join(dir, 'dst'), { create: true });
    await dst.store.commit(modelState(5, 1), meta('run-1', 1, {}));
    const before = await snapshot(dst);
    for (const [name, { code, build }] of Object.entries(hostile)) {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.ckpt`);
      await writeFile(path, build(good, header));
      const error = await dst.store.importBundle(path).catch((e) => e);
      assert.is(error.code, code, `${name}: ${error.message}`);
      assert.equal(await snapshot(dst), before, `${name} wrote something`);
    }
    assert.is(await access(join(dir, '..', 'evil')).then(() => true, () => false), false);
    assert.is(await access('/tmp/ckpt-evil-abs').then(() => true, () => false), false);
    await dst.close();
  } finally {
    await cleanup();
  }
});

test('given a bundle blob whose content and name were both replaced, when imported, then the manifest check refuses it', async () => {
  const { dir, cleanup } = await tempDir('forge');
  try {
    const { ws: src, bundle } = await source(dir);
    const manifest = src.store.entry('ckpt-2').manifest;
    await src.close();
    const good = await readFile(bundle);
    const headerSize = parseInt(good.subarray(124, 135).toString(), 8);
    const header = JSON.parse(good.subarray(512, 512 + headerSize).toString());
    // Only the manifest is kept: the blobs the manifest names are absent.
    const m = await readFile(join(dir, 'src', 'objects', manifest.slice(0, 2), manifest.slice(2)));
    const forged = Buffer.concat([entry('ckpt-bundle.json', Buffer.from(JSON.stringify(header))), entry(`objects/${manifest.slice(0, 2)}/${manifest.slice(2)}`, m), entry(`objects/${sha256Hex(Buffer.from('x')).slice(0, 2)}/${sha256Hex(Buffer.from('x')).slice(2)}`, Buffer.from('x')), TAR_END]);
    const path = join(dir, 'forged.ckpt');
    await writeFile(path, forged);
    const dst = await openWorkspace(join(dir, 'dst'), { create: true });
    const error = await dst.store.importBundle(path).catch((e) => e);
    assert.is(error.code, 'STORE_IMPORT_MALFORMED');
    assert.match(error.message, /lacks blob/);
    assert.is(dst.ledger.lastSeq, 0);
    assert.equal(await dst.store.blobs.list(), []);
    await dst.close();
  } finally {
    await cleanup();
  }
});

test.run();
