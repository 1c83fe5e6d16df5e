/** Field validators for policy configuration: each throws POLICY_INVALID naming the field and what it allows. */
import { CkptError } from '../errors.js';

/** Throw POLICY_INVALID for `field`. */
export function invalid(field: string, expected: string, got: unknown, allowed?: readonly string[]): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : safeJson(got);
  throw new CkptError('POLICY_INVALID', `policy.${field} must be ${expected} (got ${shown})`, {
    details: { field, expected, got, ...(allowed ? { allowed } : {}) },
  });
}

function safeJson(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function asBool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') invalid(field, 'true or false', v);
  return v;
}

export function asInt(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) invalid(field, `an integer >= ${min}`, v);
  return v;
}

/** null/undefined → null, else an integer >= min. */
export function asOptInt(field: string, v: unknown, min: number): number | null {
  return v === null || v === undefined ? null : asInt(field, v, min);
}

export function asPositive(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) invalid(field, 'a number > 0', v);
  return v;
}

export function asOptPositive(field: string, v: unknown): number | null {
  return v === null || v === undefined ? null : asPositive(field, v);
}

export function asNonNegative(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) invalid(field, 'a number >= 0', v);
  return v;
}

export function asOptFinite(field: string, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(field, 'a finite number or null', v);
  return v;
}

export function asString(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) invalid(field, 'a non-empty string', v);
  return v;
}

/** Sorted, de-duplicated list of integers >= 1. */
export function asIntList(field: string, v: unknown): number[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) invalid(field, 'a list of integers >= 1', v);
  const list = v.map((x, i) => asInt(`${field}[${i}]`, x, 1));
  return [...new Set(list)].sort((a, b) => a - b);
}

export function asRecord(field: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) invalid(field, 'an object', v);
  return v as Record<string, unknown>;
}

/** Reject keys not in `allowed`, naming them all. */
export function rejectUnknownKeys(field: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = field ? `${field}.${key}` : key;
      throw new CkptError('POLICY_INVALID', `policy.${where} is not a policy option; allowed: ${allowed.join(', ')}`, {
        details: { field: where, allowed },
      });
    }
  }
}
