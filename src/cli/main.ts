// Entry point of the `ckpt` command (bundled to dist/cli.js; bin/ckpt.js imports it).
import { reportFailure } from './failure.js';
import { createProgram } from './program.js';

// `ckpt log | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

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
