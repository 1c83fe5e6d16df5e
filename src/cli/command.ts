/**
 * How every command is declared: common options (--dir, --json, --debug), an example in --help, and one
 * action wrapper that turns a thrown error into the promised one-line message and exit code.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CkptError, hasCode } from '../errors.js';
import { exitCodeOf, reportFailure } from './failure.js';
import { Output } from './output.js';

export const DEFAULT_DIR = './checkpoints';

export interface CommonOptions {
  dir: string;
  json?: boolean;
  debug?: boolean;
}

export interface CommandSpec {
  /** e.g. `show <ref>` */
  name: string;
  description: string;
  /** One or more example invocations shown under --help. */
  examples: string[];
  /** Another name for the command (e.g. `list` for `ls`). */
  alias?: string;
  /** Read commands accept --json (every read command does). */
  json?: boolean;
  /** Commands without a checkpoint directory (none so far) set this to false. */
  dir?: boolean;
}

/**
 * Declare a subcommand with the common options. The handler returns the exit code (default 0).
 * @example defineCommand(program, { name: 'ls', description: '...', examples: ['ckpt ls --all'] }, async (args, opts, out) => { ... })
 */
export function defineCommand<O extends CommonOptions>(
  program: Command,
  spec: CommandSpec,
  configure: (cmd: Command) => void,
  handler: (args: string[], options: O, out: Output) => Promise<number | void>,
): Command {
  const cmd = program.command(spec.name).description(spec.description);
  if (spec.alias) cmd.alias(spec.alias);
  if (spec.dir !== false) cmd.option('-d, --dir <path>', 'checkpoint directory', DEFAULT_DIR);
  configure(cmd);
  if (spec.json !== false) cmd.option('--json', 'print one JSON document instead of a table');
  cmd.option('--debug', 'print stack traces on errors');
  cmd.addHelpText('after', `\nExample${spec.examples.length > 1 ? 's' : ''}:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  cmd.action(async (...raw: unknown[]) => {
    const command = raw[raw.length - 1] as Command;
    const options = command.opts() as O;
    const positional = raw.slice(0, command.registeredArguments.length).flatMap((a) => (Array.isArray(a) ? a : a === undefined ? [] : [String(a)]));
    const out = new Output({ json: Boolean(options.json) });
    try {
      const code = await handler(positional, options, out);
      process.exitCode = code ?? 0;
    } catch (error) {
      process.exitCode = reportFailure(withHelpHint(error, cmd.name()), { debug: options.debug, json: options.json });
    }
  });
  return cmd;
}

/** Parse a positive integer option or throw a usage error naming the flag. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** Parse a non-negative integer option. */
export function nonNegativeInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got "${value}"`);
    return n;
  };
}

/** A usage error (exit 2) that says where the right usage is: `see \`ckpt <name> --help\``. */
function withHelpHint(error: unknown, name: string): unknown {
  if (!hasCode(error) || exitCodeOf(error) !== 2 || /--help/.test(error.message)) return error;
  return new CkptError(error.code, `${error.message}; see \`ckpt ${name} --help\``, { cause: error, details: error.details ?? {} });
}
