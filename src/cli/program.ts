/**
 * The `ckpt` command tree (commander). Usage errors print one line `CLI_USAGE: ...` and exit 2; --help and
 * --version exit 0; each command's handler sets its own exit code through `defineCommand`.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerBackup } from './commands/backup.js';
import { registerBest } from './commands/best.js';
import { registerDiff } from './commands/diff.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerGc } from './commands/gc.js';
import { registerHistory } from './commands/history.js';
import { registerImport } from './commands/import.js';
import { registerLatest } from './commands/latest.js';
import { registerLog } from './commands/log.js';
import { registerLs } from './commands/ls.js';
import { registerPin } from './commands/pin.js';
import { registerPrune } from './commands/prune.js';
import { registerRebuild } from './commands/rebuild.js';
import { registerReplay } from './commands/replay.js';
import { registerServe } from './commands/serve.js';
import { registerShow } from './commands/show.js';
import { registerSummary } from './commands/summary.js';
import { registerTag } from './commands/tag.js';
import { registerTrain } from './commands/train.js';
import { registerUnpin } from './commands/unpin.js';
import { registerVerify } from './commands/verify.js';
import { registerWhy } from './commands/why.js';

/** The package version (read from package.json, which sits one level above dist/ and src/). */
export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'ckpt' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

/**
 * Build the program. Registration order is the order in --help.
 * @example await createProgram().parseAsync(['node', 'ckpt', 'ls', '--json'])
 */
export function createProgram(): Command {
  const program = new Command('ckpt');
  // The subcommand being parsed, so a parse error points at its own --help.
  let current: string | undefined;
  program.hook('preSubcommand', (_program, sub) => {
    current = sub.name();
  });
  program
    .usage('<command> [options]')
    .description('ckpt — an event-sourced checkpoint ledger for machine-learning training')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (text, write) => write(`CLI_USAGE: ${text.replace(/^error: /, '').trim()}; see \`${current ? `ckpt ${current}` : 'ckpt'} --help\`\n`),
    })
    .exitOverride(usageExit);
  program.addHelpText('after', `
Every command takes --dir (default ./checkpoints) and --help; read commands take --json.
Refs: a checkpoint id, best, best:<metric>, latest, epoch:<N>, <run>/latest.
Exit codes: 0 ok, 1 the operation failed, 2 usage error.

Examples:
  $ npx ckpt train                       # train mnist-mlp with the normal policy into ./checkpoints
  $ ckpt ls --all                        # every checkpoint, pruned ones included
  $ ckpt why best                        # why the best checkpoint is best
  $ ckpt log --follow                    # watch decisions live while a run trains
`);
  const commands = [registerTrain, registerLog, registerWhy, registerLs, registerShow, registerBest, registerLatest, registerHistory, registerSummary, registerDiff, registerEval, registerExport, registerImport, registerBackup, registerVerify, registerGc, registerTag, registerPin, registerUnpin, registerPrune, registerReplay, registerRebuild, registerServe];
  for (const register of commands) register(program);
  return program;
}

/** commander calls this instead of process.exit: help/version exit 0, every parse error exits 2. */
function usageExit(error: CommanderError): never {
  const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
  process.exit(ok ? 0 : 2);
}
