import type { Command } from 'commander';
import { serve } from '../../server/serve.js';
import { defineCommand, nonNegativeInt, type CommonOptions } from '../command.js';
import { assertCkptDir } from '../source.js';

/**
 * `ckpt serve`: the dashboard and JSON API for a directory, until Ctrl-C. It prints the page's address with a
 * per-run token (`http://127.0.0.1:6006/?token=…`): the page's writes need it; `--read-only` refuses them all. While a run owns the directory it
 * forwards the API to that run and takes over when it exits.
 */
export function registerServe(program: Command): void {
  defineCommand<CommonOptions & { host?: string; port?: number; token?: string; readOnly?: boolean }>(
    program,
    { name: 'serve', description: 'serve the dashboard and JSON API (127.0.0.1; other hosts need --token)', examples: ['ckpt serve --port 6006', 'ckpt serve --read-only', 'ckpt serve --host 0.0.0.0 --token s3cret'], json: false },
    (cmd) => cmd
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <n>', 'port (default: 6006)', nonNegativeInt('--port'))
      .option('--token <token>', 'require this bearer token for every request (mandatory off loopback)', process.env.CKPT_TOKEN)
      .option('--read-only', 'the page cannot pin, tag, prune, verify or export (writes answer 405)'),
    async (_args, opts, out) => {
      assertCkptDir(opts.dir);
      const handle = await serve({ dir: opts.dir, host: opts.host, port: opts.port, token: opts.token, readOnly: opts.readOnly });
      const acting = handle.pageUrl === `${handle.url}/` ? ', read-only' : `; to act on checkpoints open ${handle.pageUrl}`;
      out.line(`serving ${opts.dir} at ${handle.url}/ (${handle.mode() === 'owner' ? 'owner' : 'reading through the running owner'})${acting}; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await handle.close();
      return 0;
    },
  );
}
