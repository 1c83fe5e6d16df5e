/**
 * The one policy file that does I/O: read a policy JSON file and import a custom save predicate module.
 * Everything else in src/policy is pure.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CkptError } from '../errors.js';
import { parsePolicyConfig } from '../policy/parse.js';
import { createPolicy } from '../policy/policy.js';
import { isPresetName } from '../policy/presets.js';
import type { Policy, SavePredicate } from '../policy/types.js';

/**
 * Load a policy from a preset name, a path to a JSON file, or a config object. A configured `predicate` is
 * resolved (relative to the JSON file, else to `cwd`) and imported; it must export a function as `default` or
 * `predicate`. Bad files throw POLICY_INVALID naming the path.
 * @example const policy = await loadPolicy('./policy.json', { cwd: process.cwd() })
 */
export async function loadPolicy(spec: string | object, options: { cwd?: string } = {}): Promise<Policy> {
  const cwd = options.cwd ?? process.cwd();
  let input: unknown = spec;
  let base = cwd;
  if (typeof spec === 'string' && !isPresetName(spec)) {
    const path = resolve(cwd, spec);
    input = await readPolicyFile(path);
    base = dirname(path);
  }
  let config;
  try {
    config = parsePolicyConfig(input);
  } catch (error) {
    if (typeof spec === 'string' && !isPresetName(spec) && error instanceof CkptError) {
      throw new CkptError(error.code, `${resolve(cwd, spec)}: ${error.message}`, { cause: error, details: { ...error.details, path: resolve(cwd, spec) } });
    }
    throw error;
  }
  if (config.predicate === null) return createPolicy(config);
  const predicatePath = isAbsolute(config.predicate) ? config.predicate : resolve(base, config.predicate);
  const predicate = await importPredicate(predicatePath);
  return createPolicy({ ...config, predicate: predicatePath }, { predicate });
}

async function readPolicyFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    // A file that is not there is a mistake in the command line (exit 2), not a bad policy.
    const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'CLI_USAGE' : 'POLICY_INVALID';
    throw new CkptError(code, `cannot read policy file ${path}; give a preset (short, normal, long) or an existing .json file`, { cause, details: { path } });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CkptError('POLICY_INVALID', `policy file ${path} is not valid JSON: ${(cause as Error).message}`, { cause, details: { path } });
  }
}

/**
 * Import a predicate module and return its function.
 * @example const save = await importPredicate('/abs/every-third.mjs')
 */
export async function importPredicate(path: string): Promise<SavePredicate> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (cause) {
    throw new CkptError('POLICY_INVALID', `cannot import policy predicate ${path}: ${(cause as Error).message}`, { cause, details: { path, field: 'predicate' } });
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.predicate;
  if (typeof fn !== 'function') {
    throw new CkptError('POLICY_INVALID', `policy predicate ${path} must export a function as default or "predicate"`, { details: { path, field: 'predicate' } });
  }
  return fn as SavePredicate;
}
