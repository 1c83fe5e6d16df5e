import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CkptError } from '../../errors.js';
import { exitCodeOf } from '../failure.js';
import { train, type TrainOptions } from '../../run/train.js';
import { keepServing } from '../keep-serving.js';
import { newWriteToken } from '../../server/write-access.js';
import { defineCommand, DEFAULT_DIR, nonNegativeInt, positiveInt, type CommonOptions } from '../command.js';

type TrainFlags = CommonOptions & {
  trainer?: string; epochs?: number; seed?: number; batchSize?: number; policy?: string; resume?: boolean; run?: string;
  maxRestarts?: number; serve?: boolean; port?: number; readOnly?: boolean; trainerConfig?: Record<string, unknown>; helloTimeout?: number;
};

/**
 * `ckpt train`: train a model under supervision, checkpointing into the ledger. With no flags: mnist-mlp, the
 * `normal` policy, ./checkpoints. Exit 0 when the run finished, 3 when it finished but decided saves failed
 * (unless the policy tolerates that), 130/143 when interrupted (after a final checkpoint), 1 when it failed.
 */
export function registerTrain(program: Command): void {
  defineCommand<TrainFlags>(
    program,
    {
      name: 'train',
      description: 'train and checkpoint into the ledger (default: mnist-mlp, normal, ./checkpoints)',
      examples: ['ckpt train', 'ckpt train --epochs 10 --policy long --serve --port 6006', 'ckpt train --trainer ./my_trainer.py --policy ./policy.json --resume'],
    },
    (cmd) => cmd
      .option('--trainer <name|path>', 'mnist-mlp, mnist-cnn, or a trainer program (.py, .js, .ts, executable)')
      .option('--epochs <n>', 'epochs to train (default 5)', positiveInt('--epochs'))
      .option('--seed <n>', 'random seed (same seed + same data = same weights; default 42)', nonNegativeInt('--seed'))
      .option('--batch-size <n>', 'batch size (default 32)', positiveInt('--batch-size'))
      .option('--policy <preset|file.json>', 'checkpoint policy: short, normal, long, or a JSON file (default normal)')
      .option('--resume', 'continue the newest unfinished run')
      .option('--no-resume', 'always start a new run (default: continue a run that crashed)')
      .option('--run <name>', 'start or resume this run (required with a shared --ledger)')
      .option('--max-restarts <n>', 'trainer crashes to recover from by resuming (default 3)', nonNegativeInt('--max-restarts'))
      .option('--hello-timeout <s>', 'seconds a starting trainer may take to say hello (default 15)', positiveInt('--hello-timeout'))
      .option('--serve', 'serve the dashboard while training, and after it until Ctrl-C')
      .option('--port <n>', 'port for --serve (default: a free one)', nonNegativeInt('--port'))
      .option('--read-only', 'with --serve: the page cannot pin, tag, prune, verify or export')
      .option('--trainer-config <json>', 'extra trainer settings as JSON, e.g. \'{"trainSize":1000}\'', parseJsonObject),
    async (_args, opts, out) => {
      if ((opts.port !== undefined || opts.readOnly) && !opts.serve) throw new CkptError('CLI_USAGE', '--port and --read-only only make sense with --serve');
      // One token for the page's writes during training and after it (keepServing), so an open page keeps working.
      const serveWrites = { readOnly: opts.readOnly === true, writeToken: newWriteToken() };
      const options: TrainOptions = {
        dir: opts.dir ?? DEFAULT_DIR,
        trainer: opts.trainer,
        epochs: opts.epochs,
        seed: opts.seed,
        batchSize: opts.batchSize,
        policy: opts.policy,
        resume: opts.resume,
        run: opts.run,
        maxRestarts: opts.maxRestarts,
        ...(opts.helloTimeout !== undefined ? { timeouts: { helloMs: opts.helloTimeout * 1000 } } : {}),
        serve: opts.serve,
        port: opts.port,
        serveWrites: opts.serve ? serveWrites : undefined,
        trainerConfig: opts.trainerConfig,
        // With --json, stdout carries the one result document; people still see progress on stderr.
        out: out.json ? process.stderr : process.stdout,
      };
      for (const key of Object.keys(options) as (keyof TrainOptions)[]) if (options[key] === undefined) delete options[key];
      const result = await train(options);
      // The supervisor already printed the run's progress and outcome for people.
      if (out.json) out.document(result);
      if (result.error) {
        out.note(`${result.error.code}: ${result.error.message.split('\n')[0]}`);
      }
      if (opts.serve && result.url && result.exitCode !== 130 && result.exitCode !== 143) {
        await keepServing(options.dir!, Number(new URL(result.url).port), serveWrites, out.json ? process.stderr : process.stdout);
      }
      // A usage mistake found while starting (e.g. a policy file that does not exist) exits 2 like any other.
      return result.error && exitCodeOf(new CkptError(result.error.code, result.error.message)) === 2 ? 2 : result.exitCode;
    },
  );
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"trainSize":1000}\'');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError('must be a JSON object');
  return value as Record<string, unknown>;
}
