/**
 * The blob-store seam: the local store and the S3 store pass one contract (test/scale.blobs.contract.ts); then
 * what only S3 has — multipart uploads, streaming in both directions, and clear STORE_* errors for wrong
 * credentials, a missing bucket and an unreachable endpoint. The S3 endpoint is s3rver on 127.0.0.1, reached
 * through the standard AWS environment only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../src/store/blobs.js';
import { S3BlobStore } from '../src/store/s3-blobs.js';
import { s3Client } from '../src/store/s3-location.js';
import { CkptError } from '../src/errors.js';
import { startS3 } from './fixtures/s3.js';
import { blobContract } from './scale.blobs.contract.js';

const s3 = await startS3(['ckpt', 'other']);
Object.assign(process.env, s3.env);
const root = mkdtempSync(join(tmpdir(), 'ckpt-blobs-'));
let n = 0;

blobContract('local files', {
  open: async () => {
    const blobs = new BlobStore(join(root, `store-${++n}`));
    await blobs.init();
    return blobs;
  },
  damage: async (blobs, hash, bytes) => writeFileSync((blobs as BlobStore).path(hash), bytes),
});

blobContract('s3', {
  open: async () => {
    const blobs = new S3BlobStore(`s3://ckpt/contract-${++n}`);
    await blobs.init();
    return blobs;
  },
  damage: async (blobs, hash, bytes) => {
    await s3Client().send(new PutObjectCommand({ Bucket: 'ckpt', Key: (blobs as S3BlobStore).key(hash), Body: bytes }));
  },
});

const test = suite('scale: S3 blob store');
test.after(async () => {
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
});

const error = async (promise: Promise<unknown>): Promise<CkptError> => {
  const e = await promise.then(() => undefined, (err: unknown) => err);
  assert.instance(e, CkptError);
  return e as CkptError;
};

/** Runs `fn` with some AWS variables changed (the SDK reads them when a request first needs them). */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    Object.assign(process.env, saved);
  }
}

test('given a blob larger than a part, when put, then it is uploaded in parts and reads back verified; a stream upload of it is skipped', async () => {
  const blobs = new S3BlobStore('s3://ckpt/big', { partSize: 5 * 1024 * 1024 });
  const bytes = randomBytes(12 * 1024 * 1024 + 7);
  const put = await blobs.put(bytes);
  assert.is(put.hash, createHash('sha256').update(bytes).digest('hex'));
  assert.ok((await blobs.read(put.hash)).equals(bytes));
  const again = await blobs.putStream(put.hash, Readable.from([bytes]), bytes.byteLength);
  assert.is(again.written, false);
});

test('given a stream whose sha256 is known, when uploaded, then it is stored; a stream that is not what its name says is refused and not stored', async () => {
  const blobs = new S3BlobStore('s3://ckpt/streams', { partSize: 5 * 1024 * 1024 });
  const bytes = randomBytes(11 * 1024 * 1024);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const chunks = Array.from({ length: 11 }, (_, i) => bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
  assert.equal(await blobs.putStream(hash, Readable.from(chunks), bytes.byteLength), { hash, size: bytes.byteLength, written: true });
  const received: Buffer[] = [];
  for await (const chunk of await blobs.readStream(hash)) received.push(chunk as Buffer);
  assert.ok(received.length > 1, 'read arrives in chunks, not one buffer');
  assert.ok(Buffer.concat(received).equals(bytes));
  const liar = 'ee'.repeat(32);
  const refused = await blobs.putStream(liar, Readable.from([Buffer.from('not that')]), 8).then(() => undefined, (e: unknown) => e as Error);
  assert.is((refused as { kind?: string })?.kind, 'corrupt');
  assert.is(await blobs.size(liar), null);
});

test('given wrong credentials, a missing bucket or a dead endpoint, when the store opens, then STORE_CREDENTIALS / STORE_NOT_FOUND / STORE_UNREACHABLE', async () => {
  // An unknown access key id (s3rver does not check SigV4 signatures, so a wrong secret alone would pass there).
  await withEnv({ AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1' }, async () => {
    const credentials = await error(new S3BlobStore('s3://ckpt/x', { client: s3Client(1) }).init());
    assert.is(credentials.code, 'STORE_CREDENTIALS');
    assert.match(credentials.message, /rejected the AWS credentials \(InvalidAccessKeyId\).*check AWS_ACCESS_KEY_ID/);
    const putWithWrong = await error(new S3BlobStore('s3://ckpt/x', { client: s3Client(1) }).put(Buffer.from('x')));
    assert.is(putWithWrong.code, 'STORE_CREDENTIALS');
  });
  const missing = await error(new S3BlobStore('s3://no-such-bucket/x').init());
  assert.is(missing.code, 'STORE_NOT_FOUND');
  assert.match(missing.message, /does not exist; create it or fix --store/);
  await withEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }, async () => {
    assert.is((await error(new S3BlobStore('s3://ckpt/x', { client: s3Client(1) }).init())).code, 'STORE_UNREACHABLE');
  });
  assert.is((await error(Promise.resolve().then(() => new S3BlobStore('s3://Bad_Bucket')))).code, 'STORE_INVALID');
});

test.run();
