/**
 * The one contract every blob backend passes (local files, S3). test/scale.blobs.test.ts runs it for each.
 */
import { createHash, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobFault, type BlobBackend } from '../src/store/blobs.js';

export interface BlobBackendFactory {
  open(): Promise<BlobBackend>;
  /** Overwrites the stored bytes of a blob behind the backend's back (to check verification). */
  damage(backend: BlobBackend, hash: string, bytes: Uint8Array): Promise<void>;
}

const sha256 = async (bytes: Uint8Array): Promise<string> => createHash('sha256').update(bytes).digest('hex');

export function blobContract(name: string, factory: BlobBackendFactory): void {
  const test = suite(`blob store contract (${name})`);

  test('given bytes, when put and read, then the name is their sha256, a second put writes nothing and size/list agree', async () => {
    const blobs = await factory.open();
    const bytes = randomBytes(70_000);
    const first = await blobs.put(bytes);
    assert.equal(first, { hash: await sha256(bytes), size: 70_000, written: true });
    assert.equal(await blobs.put(Uint8Array.from(bytes)), { ...first, written: false });
    assert.ok(Buffer.from(await blobs.read(first.hash)).equals(bytes));
    assert.is(await blobs.size(first.hash), 70_000);
    assert.is(await blobs.size('0'.repeat(64)), null);
    const empty = await blobs.put(new Uint8Array(0));
    assert.is((await blobs.read(empty.hash)).byteLength, 0);
    assert.equal((await blobs.list()).map((b) => b.hash).sort(), [first.hash, empty.hash].sort());
  });

  test('given a round of puts, when made durable, then every blob reads back; putMany keeps input order', async () => {
    const blobs = await factory.open();
    const items = [randomBytes(10), randomBytes(20), randomBytes(10)];
    const round = blobs.round();
    const results = await Promise.all(items.map((b) => round.put(b)));
    await round.durable();
    for (let i = 0; i < items.length; i++) assert.ok((await blobs.read(results[i].hash)).equals(items[i]));
    const many = await blobs.putMany([items[2], randomBytes(5)]);
    assert.equal(many.map((r) => r.written), [false, true]);
    assert.is(many[0].hash, results[2].hash);
  });

  test('given a missing or damaged blob, when read, then BlobFault missing / corrupt with the actual hash', async () => {
    const blobs = await factory.open();
    const missing = await blobs.read('ab'.repeat(32)).then(() => undefined, (e: unknown) => e);
    assert.instance(missing, BlobFault);
    assert.is((missing as BlobFault).kind, 'missing');
    const { hash } = await blobs.put(Buffer.from('the real bytes'));
    const wrong = Buffer.from('other bytes!!!');
    await factory.damage(blobs, hash, wrong);
    const corrupt = await blobs.read(hash).then(() => undefined, (e: unknown) => e);
    assert.instance(corrupt, BlobFault);
    assert.is((corrupt as BlobFault).kind, 'corrupt');
    assert.is((corrupt as BlobFault).actual, await sha256(wrong));
  });

  test('given blobs, when checked, then the size of a good one (empty, one chunk, several) and BlobFault missing / corrupt / truncated', async () => {
    const blobs = await factory.open();
    // 2.5 MiB spans three of the local store's 1 MiB read chunks.
    for (const bytes of [new Uint8Array(0), randomBytes(70_000), randomBytes(2.5 * 2 ** 20)]) {
      const { hash } = await blobs.put(bytes);
      assert.is(await blobs.check(hash), bytes.byteLength);
    }
    const fault = (hash: string) => blobs.check(hash).then(() => undefined, (e: unknown) => e as BlobFault);
    const missing = await fault('cd'.repeat(32));
    assert.instance(missing, BlobFault);
    assert.is(missing!.kind, 'missing');
    const real = randomBytes(3 * 2 ** 20);
    const { hash } = await blobs.put(real);
    const flipped = Buffer.from(real);
    flipped[2 ** 20 + 7] ^= 1; // one bit in the second chunk
    await factory.damage(blobs, hash, flipped);
    const corrupt = await fault(hash);
    assert.is(corrupt?.kind, 'corrupt');
    assert.is(corrupt!.actual, await sha256(flipped));
    const truncated = real.subarray(0, 2 ** 20 + 5);
    await factory.damage(blobs, hash, truncated);
    const short = await fault(hash);
    assert.is(short?.kind, 'corrupt');
    assert.is(short!.actual, await sha256(truncated));
  });

  test('given stored blobs, when removed, then they are gone, counted with their sizes, and removing again is a no-op', async () => {
    const blobs = await factory.open();
    const a = await blobs.put(randomBytes(100));
    const b = await blobs.put(randomBytes(50));
    assert.equal(await blobs.remove([a.hash, b.hash, 'cd'.repeat(32)]), { deleted: 2, bytes: 150 });
    assert.equal(await blobs.remove([a.hash]), { deleted: 0, bytes: 0 });
    assert.is(await blobs.size(a.hash), null);
    assert.equal(await blobs.list(), []);
  });

  test.run();
}
