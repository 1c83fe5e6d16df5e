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

/**
 * Reject keys not in `allowed`, suggesting the nearest allowed key (edit distance, case-insensitive):
 * `policy.keepTopk is not a policy option; did you mean keepTopK?`.
 */
export function rejectUnknownKeys(field: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = field ? `${field}.${key}` : key;
      const near = nearestKey(key, allowed);
      const hint = near ? `did you mean ${near}?` : `allowed: ${allowed.join(', ')}`;
      throw new CkptError('POLICY_INVALID', `policy.${where} is not a policy option; ${hint}`, {
        details: { field: where, allowed, ...(near ? { suggestion: near } : {}) },
      });
    }
  }
}

/**
 * The allowed key closest to `key` (Levenshtein distance on lower case, `_` and `-` ignored), if it is close
 * enough to be a typo: at most a fifth of the key's length (and at least 1) away. Otherwise undefined, and the
 * caller lists every allowed key.
 * @example nearestKey('keepTopk', ['keepTopK', 'keepLast']) // 'keepTopK'
 */
export function nearestKey(key: string, allowed: readonly string[]): string | undefined {
  const norm = (k: string): string => k.toLowerCase().replace(/[_-]/g, '');
  const target = norm(key);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(target.length / 5)) + 1;
  const snake = key.includes('_');
  for (const candidate of allowed) {
    const d = editDistance(target, norm(candidate));
    // On a tie, the key's own style wins: every_n_epoch → every_n_epochs rather than everyNEpochs.
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate.includes('_') === snake && best.includes('_') !== snake)) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
