/**
 * The error layer: every failure is one line `CODE: what to do` on stderr (plus `{"error": ...}` on stdout with
 * --json), exit 2 for usage errors and 1 for everything else; stack traces and causes only with --debug.
 */
import { CkptError, hasCode } from '../errors.js';

/** Codes that mean "you called it wrong" (exit 2). */
const USAGE_CODES = /^CLI_(USAGE|BAD_OPTION|UNKNOWN_COMMAND|MISSING_ARGUMENT|REF_INVALID)/;

/** Exit status for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeOf(error: unknown): 1 | 2 {
  return hasCode(error) && USAGE_CODES.test(error.code) ? 2 : 1;
}

/**
 * A usage error (exit 2).
 * @example throw usageError('--epochs must be a positive integer, got "x"')
 */
export function usageError(message: string, details: Record<string, unknown> = {}): CkptError {
  return new CkptError('CLI_USAGE', message, { details });
}

/**
 * Print an error the way the CLI promises and return the exit code to use.
 * @example process.exitCode = reportFailure(error, { debug: false, json: false })
 */
export function reportFailure(error: unknown, options: { debug?: boolean; json?: boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): 1 | 2 {
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const code = hasCode(error) ? error.code : 'CLI_INTERNAL';
  const raw = error instanceof Error ? error.message : String(error);
  const message = hasCode(error) ? oneLine(raw) : `${oneLine(raw)} (an unexpected error; rerun with --debug and report it)`;
  stderr.write(`${code}: ${message}\n`);
  if (options.json) {
    const details = hasCode(error) ? error.details ?? {} : {};
    stdout.write(JSON.stringify({ error: { code, message, details } }, null, 2) + '\n');
  }
  if (options.debug) {
    let current: unknown = error;
    for (let depth = 0; current && depth < 5; depth++) {
      stderr.write(`${depth ? 'caused by: ' : ''}${current instanceof Error ? current.stack : String(current)}\n`);
      current = current instanceof Error ? current.cause : undefined;
    }
  }
  return exitCodeOf(error);
}

function oneLine(text: string): string {
  return text.split('\n')[0].trim();
}
