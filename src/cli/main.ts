// Entry point of the `ckpt` command (filled in by the CLI work).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-V')) {
  console.log(version);
} else {
  console.log(`ckpt ${version} — an event-sourced checkpoint ledger for machine-learning training

Usage: ckpt <command> [options]

  train     train a model and checkpoint it into the ledger (default: mnist-mlp, ./checkpoints)
  --help    show this help
  --version print the version`);
}
