/**
 * The blob store on S3-compatible object storage: the same content-addressed layout as the local store
 * (`<prefix>/objects/ab/cdef…`, manifests included, since a manifest is a blob), so a prefix is a store.
 * Create-once: a blob whose key exists (HeadObject) is not uploaded again — keys are content hashes, so an
 * existing key holds those bytes unless damaged, which `read` detects. Uploads go through lib-storage's
 * `Upload` (multipart above `partSize`, parts in parallel); reads stream the body through SHA-256 and fail
 * with BlobFault('corrupt') when the bytes do not match their name. An acknowledged PUT is durable, so a
 * round's `durable()` has nothing to do.
 */
import { createHash, webcrypto } from 'node:crypto';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readFile, unlink } from 'node:fs/promises';
import { CkptError } from '../errors.js';
import { BlobFault, mapLimit, type BlobBackend, type BlobInfo, type BlobRound, type PutResult } from './blobs.js';
import { isBlobHash } from './hash.js';
import { isMissingKey, s3Error } from './s3-errors.js';
import { parseS3Url, s3Client, type S3Location } from './s3-location.js';

/** Multipart part size: blobs above it are uploaded in parts of this size, `queueSize` at a time. */
const PART_SIZE = 8 * 1024 * 1024;

export interface S3BlobStoreOptions {
  client?: S3Client;
  partSize?: number;
  queueSize?: number;
}

/**
 * @example
 *   const blobs = new S3BlobStore('s3://ckpt-team/checkpoints'); await blobs.init()
 *   const { hash } = await blobs.put(bytes); const back = await blobs.read(hash)
 */
export class S3BlobStore implements BlobBackend {
  readonly location: string;
  private readonly where: S3Location;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(url: string, options: S3BlobStoreOptions = {}) {
    this.where = parseS3Url(url);
    this.location = `s3://${this.where.bucket}${this.where.prefix ? `/${this.where.prefix}` : ''}`;
    this.client = options.client ?? s3Client();
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? PART_SIZE);
    this.queueSize = options.queueSize ?? 4;
  }

  /** Key of a blob. @example blobs.key('ab12…') // 'team/objects/ab/12…' */
  key(hash: string): string {
    return `${this.where.prefix ? `${this.where.prefix}/` : ''}objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
  }

  /** Checks that the bucket exists and the credentials work (clear STORE_* errors before any training). */
  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.where.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // HEAD answers carry no error code: 404 is the bucket, 403 permission or credentials (told apart below).
      if (status === 404) throw s3Error({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, this.location, 'open the store');
      if (status === 403) await this.listProbe();
      throw s3Error(error, this.location, 'open the store');
    }
  }

  round(): BlobRound {
    return {
      put: (bytes) => this.put(bytes),
      // Staging is offered only for local stores; a staged file that reaches S3 anyway is read and uploaded.
      adopt: async (path, expect) => {
        const bytes = await readFile(path);
        if (bytes.byteLength !== expect.bytes) throw new CkptError('STORE_STAGED_MISMATCH', `staged file ${path} has ${bytes.byteLength} bytes, the reply says ${expect.bytes}; nothing was committed from it`);
        const hash = Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
        if (expect.sha256 !== undefined && expect.sha256 !== hash) throw new CkptError('STORE_STAGED_MISMATCH', `staged file ${path} has sha256 ${hash}, the reply says ${expect.sha256}; nothing was committed from it`);
        const result = await this.put(bytes);
        await unlink(path);
        return result;
      },
      durable: async () => undefined,
    };
  }

  async putMany(items: readonly Uint8Array[], concurrency = 4): Promise<PutResult[]> {
    return mapLimit(items, concurrency, (bytes) => this.put(bytes));
  }

  async put(bytes: Uint8Array): Promise<PutResult> {
    const hash = Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
    if ((await this.size(hash)) === bytes.byteLength) return { hash, size: bytes.byteLength, written: false };
    await this.upload(hash, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength);
    return { hash, size: bytes.byteLength, written: true };
  }

  /**
   * Uploads a stream whose sha256 is already known (a local blob named by its hash), never holding it whole:
   * multipart in `partSize` pieces. Skips the upload when the key exists with that size.
   * @example await s3.putStream(hash, createReadStream(local.path(hash)), size)
   */
  async putStream(hash: string, body: Readable, size: number): Promise<PutResult> {
    if ((await this.size(hash)) === size) {
      body.destroy();
      return { hash, size, written: false };
    }
    // Hash what actually goes out: a local file changed under us must not be stored under the wrong name.
    const digest = createHash('sha256');
    const hashing = new Transform({ transform: (chunk: Buffer, _e, done) => (digest.update(chunk), done(null, chunk)) });
    const uploading = this.upload(hash, hashing, size);
    await Promise.all([pipeline(body, hashing), uploading]);
    const actual = digest.digest('hex');
    if (actual !== hash) {
      await this.remove([hash]);
      throw new BlobFault('corrupt', hash, actual, `blob ${hash} read as sha256 ${actual} while uploading; not stored`);
    }
    return { hash, size, written: true };
  }

  private async upload(hash: string, body: Buffer | Readable, size: number): Promise<void> {
    if (Buffer.isBuffer(body) && size <= this.partSize) {
      // One part: a plain PutObject (lib-storage would re-chunk the buffer first).
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(hash), Body: body, ContentLength: size, ContentType: 'application/octet-stream', Metadata: { sha256: hash } }));
      } catch (error) {
        throw s3Error(error, this.location, `write blob ${hash.slice(0, 12)}… (${size} bytes)`);
      }
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.where.bucket, Key: this.key(hash), Body: body, ContentType: 'application/octet-stream', Metadata: { sha256: hash } },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw s3Error(error, this.location, `write blob ${hash.slice(0, 12)}… (${size} bytes)`);
    }
  }

  async read(hash: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await pipeline(await this.readStream(hash), new PassThrough().on('data', (c: Buffer) => chunks.push(c)));
    return Buffer.concat(chunks);
  }

  /** Verify a blob as it streams by, keeping none of it; returns its size. */
  async check(hash: string): Promise<number> {
    let bytes = 0;
    await pipeline(await this.readStream(hash), new Writable({ write: (chunk: Buffer, _e, done) => ((bytes += chunk.byteLength), done()) }));
    return bytes;
  }

  /**
   * The blob's bytes as a stream, hashed on the way; the stream fails with BlobFault('corrupt') at its end when
   * they do not match the name (consumers must not trust the bytes before the stream ends without error).
   * @example await pipeline(await s3.readStream(hash), createWriteStream(path))
   */
  async readStream(hash: string): Promise<Readable> {
    let body: Readable;
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(hash) }));
      body = answer.Body as Readable;
    } catch (error) {
      if (isMissingKey(error)) throw new BlobFault('missing', hash, null, `blob ${hash} is missing (${this.location})`);
      throw s3Error(error, this.location, `read blob ${hash.slice(0, 12)}…`);
    }
    const digest = createHash('sha256');
    const verify = new Transform({
      transform: (chunk: Buffer, _e, done) => (digest.update(chunk), done(null, chunk)),
      flush: (done) => {
        const actual = digest.digest('hex');
        done(actual === hash ? null : new BlobFault('corrupt', hash, actual, `blob ${hash} has sha256 ${actual} (${this.location})`));
      },
    });
    body.on('error', (error) => verify.destroy(error));
    return body.pipe(verify);
  }

  async size(hash: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.key(hash) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissingKey(error)) return null;
      // A HEAD answer has no body: a 403 is bad credentials or missing permission, which a listing tells apart.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) await this.listProbe();
      throw s3Error(error, this.location, `look up blob ${hash.slice(0, 12)}…`);
    }
  }

  async remove(hashes: Iterable<string>): Promise<{ deleted: number; bytes: number }> {
    let deleted = 0;
    let bytes = 0;
    await mapLimit([...hashes], 8, async (hash) => {
      const size = await this.size(hash);
      if (size === null) return;
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(hash) }));
      } catch (error) {
        throw s3Error(error, this.location, `delete blob ${hash.slice(0, 12)}…`);
      }
      deleted++;
      bytes += size;
    });
    return { deleted, bytes };
  }

  async list(): Promise<BlobInfo[]> {
    const found: BlobInfo[] = [];
    const prefix = `${this.where.prefix ? `${this.where.prefix}/` : ''}objects/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (error) {
        throw s3Error(error, this.location, 'list blobs');
      }
      for (const object of page.Contents ?? []) {
        const hash = (object.Key ?? '').slice(prefix.length).replace('/', '');
        if (isBlobHash(hash)) found.push({ hash, size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found.sort((a, b) => (a.hash < b.hash ? -1 : 1));
  }

  /** Object storage has no temp files: an upload is visible only once complete. */
  async temps(): Promise<string[]> {
    return [];
  }

  /** A 403 on HeadBucket is either bad credentials or missing permission; a listing tells them apart. */
  private async listProbe(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, MaxKeys: 1 }));
    } catch (error) {
      throw s3Error(error, this.location, 'open the store');
    }
  }
}
