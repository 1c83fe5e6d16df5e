/**
 * Turn `--trainer <name|path>` into a command line: the built-in trainers (mnist-mlp, mnist-cnn) run from the
 * package's dist/ build (or from source through tsx when running from source or when dist is missing), a `.py`
 * file runs with /usr/bin/python3 (Debian's, which has msgpack), `.js`/`.mjs`/`.cjs` with this node, `.ts`
 * with node + tsx, anything else is executed directly.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CkptError } from './errors.js';

export const BUILTIN_TRAINERS = ['mnist-mlp', 'mnist-cnn'] as const;
export type BuiltinTrainer = (typeof BUILTIN_TRAINERS)[number];

export interface ResolvedTrainer {
  command: string;
  args: string[];
  /** The built-in name, or the file name without extension. */
  name: string;
}

export interface ResolveTrainerOptions {
  /** Resolve relative paths against this directory (default: process.cwd()). */
  cwd?: string;
  /** Python interpreter for `.py` trainers (default: env CKPT_PYTHON, else /usr/bin/python3 when present, else python3). */
  python?: string;
  /** Where built-ins run from: `dist`, `source` or `auto` (default: env CKPT_TRAINER_FROM, else auto). */
  from?: 'dist' | 'source' | 'auto';
}

/**
 * @example resolveTrainer('mnist-mlp') // { command: '/usr/bin/node', args: ['<pkg>/dist/trainers/mnist-mlp.js'], name: 'mnist-mlp' }
 * @example resolveTrainer('./my_trainer.py') // { command: '/usr/bin/python3', args: ['/abs/my_trainer.py'], name: 'my_trainer' }
 */
export function resolveTrainer(nameOrPath: string, options: ResolveTrainerOptions = {}): ResolvedTrainer {
  if ((BUILTIN_TRAINERS as readonly string[]).includes(nameOrPath)) return resolveBuiltin(nameOrPath as BuiltinTrainer, options);
  const path = resolve(options.cwd ?? process.cwd(), nameOrPath);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new CkptError('CLI_TRAINER_NOT_FOUND', `no trainer "${nameOrPath}": use ${BUILTIN_TRAINERS.join(' or ')}, or a path to a trainer program (see docs/protocol.md)`, { details: { trainer: nameOrPath, path } });
  }
  const ext = extname(path).toLowerCase();
  const name = path.slice(dirname(path).length + 1, path.length - ext.length);
  switch (ext) {
    case '.py': return { command: pythonCommand(options), args: [path], name };
    case '.js': case '.mjs': case '.cjs': return { command: process.execPath, args: [path], name };
    case '.ts': case '.mts': return { command: process.execPath, args: ['--import', tsxLoader(), path], name };
    default: return { command: path, args: [], name };
  }
}

function resolveBuiltin(name: BuiltinTrainer, options: ResolveTrainerOptions): ResolvedTrainer {
  const root = packageRoot();
  const built = join(root, 'dist', 'trainers', `${name}.js`);
  const source = join(root, 'trainers', `${name}.ts`);
  const from = options.from ?? (process.env.CKPT_TRAINER_FROM as ResolveTrainerOptions['from']) ?? 'auto';
  const runningFromSource = !fileURLToPath(import.meta.url).includes(`${join('', 'dist', '')}`);
  const useSource = from === 'source' || (from === 'auto' && existsSync(source) && (runningFromSource || !existsSync(built)));
  if (useSource && existsSync(source)) return { command: process.execPath, args: ['--import', tsxLoader(), source], name };
  if (existsSync(built)) return { command: process.execPath, args: [built], name };
  throw new CkptError('CLI_TRAINER_NOT_FOUND', `built-in trainer ${name} is not built; run \`npm run build\` in ${root}`, { details: { trainer: name, path: built } });
}

/** The directory of ckpt's package.json, found upwards from this file (works from src/ and from dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'trainers'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new CkptError('CLI_TRAINER_NOT_FOUND', 'cannot find the ckpt package folder holding the built-in trainers; reinstall ckpt');
    dir = up;
  }
}

function tsxLoader(): string {
  return import.meta.resolve('tsx');
}

function pythonCommand(options: ResolveTrainerOptions): string {
  return options.python ?? process.env.CKPT_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}
