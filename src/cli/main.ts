// Entry point of the `ckpt` command (bundled to dist/cli.js; bin/ckpt.js imports it).
import { reportFailure } from './failure.js';
import { createProgram } from './program.js';

const argv = process.argv;
const debug = argv.includes('--debug');
try {
  const program = createProgram();
  if (argv.length <= 2) {
    program.outputHelp();
  } else {
    await program.parseAsync(argv);
  }
} catch (error) {
  process.exitCode = reportFailure(error, { debug, json: argv.includes('--json') });
}
