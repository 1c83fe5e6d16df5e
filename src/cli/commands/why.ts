import type { Command } from 'commander';
import { whyCheckpoint } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatTime } from '../format.js';
import { readView } from '../source.js';

/** `ckpt why <ref>`: why a checkpoint exists, is best, or was pruned — the chain of events that decided it. */
export function registerWhy(program: Command): void {
  defineCommand<CommonOptions>(
    program,
    {
      name: 'why <ref>',
      description: 'why a checkpoint exists, is best, or was pruned (the deciding events)',
      examples: ['ckpt why best', 'ckpt why ckpt-2 --json'],
    },
    () => {},
    async ([ref], opts, out) => {
      const answer = await readView(opts.dir, 'why', { ref }, (state) => whyCheckpoint(state, ref));
      {
        if (out.json) return out.document(answer);
        for (const sentence of answer.summary) out.line(`${out.c.bold('•')} ${sentence}`);
        out.line();
        out.line(out.c.bold('chain of events'));
        out.table(['SEQ', 'TIME', 'EVENT', 'WHAT'], answer.chain.map((t) => [String(t.seq), formatTime(t.at), t.type, t.text.replace(/^[A-Za-z]+( \([^)]*\))?: /, '')]), ['right']);
      }
    },
  );
}
