/**
 * The error every ckpt layer above the ledger throws for a user-facing failure: a stable `code`
 * (`STORE_*`, `POLICY_*`, `PROTOCOL_*`, `CLI_*`), a one-line message that says what to do, and the
 * underlying error as `cause`. The CLI prints `code: message` and exits 1 (or 2 for usage errors).
 *
 * @example throw new CkptError('STORE_CORRUPT', 'ckpt-7: blob ab12… does not match its hash; run `ckpt verify --all`')
 */
export class CkptError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CkptError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True for any error carrying a stable ckpt/ledger code (as opposed to a bug). */
export function hasCode(error: unknown): error is Error & { code: string; details?: Record<string, unknown> } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^[A-Z]+_[A-Z_]+$/.test(code);
}
