/**
 * `s3://bucket/prefix` store locations and the S3 client for them. Endpoint, region and credentials come from the
 * standard AWS sources (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID…, AWS_PROFILE,
 * ~/.aws/config and ~/.aws/credentials) through the SDK's own resolution; nothing here is specific to one
 * S3 implementation.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { CkptError } from '../errors.js';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket root). */
  prefix: string;
}

/** True for a store argument that names object storage. @example isS3Url('s3://ckpt/team') // true */
export function isS3Url(value: string | undefined): value is string {
  return typeof value === 'string' && value.startsWith('s3://');
}

/**
 * @example parseS3Url('s3://ckpt-bucket/team/a') // { bucket: 'ckpt-bucket', prefix: 'team/a' }
 */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) throw new CkptError('STORE_INVALID', `${url} is not an S3 store; write s3://bucket or s3://bucket/prefix (a valid bucket name)`, { details: { url } });
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/**
 * A client for the standard AWS configuration. Path-style addressing is used when the endpoint is an IP address or
 * `localhost` (a bucket cannot be a subdomain of those) or when CKPT_S3_PATH_STYLE=1 (MinIO and Ceph setups
 * without wildcard DNS). The SDK's standard retry strategy (exponential backoff with jitter on throttling, 5xx and
 * network errors) gets `maxAttempts` tries per request.
 * @example const client = s3Client()
 */
export function s3Client(maxAttempts = 5): S3Client {
  const env = process.env;
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  let pathStyle = env.CKPT_S3_PATH_STYLE === '1';
  if (endpoint !== undefined) {
    try {
      const host = new URL(endpoint).hostname;
      pathStyle ||= host === 'localhost' || /^[0-9.]+$/.test(host) || host.includes(':');
    } catch {
      // An unparsable endpoint is reported by the SDK on first use.
    }
  }
  return new S3Client({
    forcePathStyle: pathStyle,
    maxAttempts,
    // We verify SHA-256 of every blob ourselves; the SDK's extra CRC trailers are not understood by every
    // S3-compatible server, so only send checksums when an operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
