/**
 * Errors the ledger raises. Every error has a stable `code` and, when it wraps one, the underlying `cause`.
 * Messages are one line that says what to do.
 *
 * @example
 *   try { await ledger.append(events, { expectedSeq: 41 }) }
 *   catch (e) { if (e instanceof LedgerError && e.code === 'LEDGER_CONFLICT') retry() }
 */
export type LedgerErrorCode = 'LEDGER_LOCKED' | 'LEDGER_CONFLICT' | 'LEDGER_CORRUPT' | 'LEDGER_CLOSED' | 'LEDGER_INVALID' | 'LEDGER_IO';

/** @example throw new LedgerError('LEDGER_CONFLICT', 'expected seq 41 but the ledger is at 42; re-read and decide again') */
export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  /** Extra facts for callers and `--json` output (e.g. expected/actual seq, owner pid). */
  readonly details: Record<string, unknown>;

  constructor(code: LedgerErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LedgerError';
    this.code = code;
    this.details = options.details ?? {};
  }
}
