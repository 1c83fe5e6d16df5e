/**
 * Reading an action's JSON body: at most 64 kB, an object, else SERVER_BAD_REQUEST saying what to send.
 */
import type { IncomingMessage } from 'node:http';
import { CkptError } from '../errors.js';

const MAX_BODY_BYTES = 64 * 1024;

/**
 * @example const { ref, reason } = await readJsonBody(req)
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new CkptError('SERVER_BAD_REQUEST', `the action body is over ${MAX_BODY_BYTES} bytes; send a small JSON object`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch (error) {
    throw new CkptError('SERVER_BAD_REQUEST', 'the action body is not JSON; send e.g. {"ref": "best"}', { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CkptError('SERVER_BAD_REQUEST', 'the action body must be a JSON object, e.g. {"ref": "best"}');
  return value as Record<string, unknown>;
}

/** A required non-empty string field. @example requireString(body, 'ref') */
export function requireString(body: Record<string, unknown>, field: string, hint: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '') throw new CkptError('SERVER_BAD_REQUEST', `add "${field}": ${hint}`, { details: { field } });
  return value.trim();
}

/** An optional string field (absent, or a string). */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new CkptError('SERVER_BAD_REQUEST', `"${field}" must be a string`, { details: { field } });
  return value;
}
