#!/usr/bin/env node
// Thin launcher: the CLI is compiled into dist/ by `npm run build` (run automatically by `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('CLI_NOT_BUILT: dist/cli.js is missing; run `npm run build` in the ckpt package.');
  process.exit(2);
}
await import(cli.href);
