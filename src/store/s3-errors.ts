/**
 * S3 failures as ckpt errors with stable codes and a line that says what to fix; the SDK error is the cause.
 */
import { CkptError } from '../errors.js';

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * @example throw s3Error(error, 's3://ckpt/team', 'write blob ab12…')
 */
export function s3Error(error: unknown, location: string, doing: string): CkptError {
  if (error instanceof CkptError) return error;
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const details = { location, s3Error: name, status };
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    return new CkptError('STORE_CREDENTIALS', `no AWS credentials found to ${doing} in ${location}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE`, { cause: error, details });
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken') {
    return new CkptError('STORE_CREDENTIALS', `the object store rejected the AWS credentials (${name}) to ${doing} in ${location}; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_PROFILE`, { cause: error, details });
  }
  if (name === 'NoSuchBucket') {
    return new CkptError('STORE_NOT_FOUND', `bucket of ${location} does not exist; create it or fix --store`, { cause: error, details });
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new CkptError('STORE_PERMISSION', `access denied to ${doing} in ${location}; grant s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on it`, { cause: error, details });
  }
  if (name === 'ECONNREFUSED' || name === 'ENOTFOUND' || name === 'TimeoutError' || /ECONNREFUSED|ENOTFOUND|socket hang up/i.test(e.message ?? '')) {
    return new CkptError('STORE_UNREACHABLE', `cannot reach the object store to ${doing} in ${location}; check AWS_ENDPOINT_URL and the network`, { cause: error, details });
  }
  return new CkptError('STORE_IO', `object store failed to ${doing} in ${location}: ${name}${e.message ? ` (${e.message})` : ''}`, { cause: error, details });
}

/** True for "not there" answers of HeadObject/GetObject (404 NotFound / NoSuchKey), but not a missing bucket. */
export function isMissingKey(error: unknown): boolean {
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? e.Code;
  return name === 'NoSuchKey' || (name === 'NotFound' && e.$metadata?.httpStatusCode === 404);
}
