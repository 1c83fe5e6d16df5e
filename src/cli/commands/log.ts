import type { Command } from 'commander';
import { logView, matchesLogFilter, toLogEntry, type LogEntry, type LogFilter } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatTime } from '../format.js';
import type { Output } from '../output.js';
import { openForRead, readView } from '../source.js';
import { startOwnerServer } from '../../server/owner-server.js';
import { readOwner } from '../../server/owner-file.js';
import { hasCode } from '../../errors.js';
import { openOwnerEvents } from '../remote.js';

type LogOptions = CommonOptions & { run?: string; follow?: boolean; kind?: string };

/**
 * `ckpt log [--run R] [--kind k,...] [--follow]`: the audit trail — every decision in order with its reason and
 * numbers, plus commits, prunes, crashes and resumes. `--follow` keeps printing live entries (one JSON object per
 * line with --json) until Ctrl-C, or until the owning run exits when reading through it.
 */
export function registerLog(program: Command): void {
  defineCommand<LogOptions>(
    program,
    {
      name: 'log',
      description: 'the audit trail: every decision with its reason (--follow: live)',
      examples: ['ckpt log', 'ckpt log --run run-1 --kind save,skip,prune', 'ckpt log --follow --json'],
    },
    (cmd) => cmd.option('--run <run>', 'only this run').option('--kind <kinds>', 'only these kinds, comma-separated (save, skip, prune, commit, crash, ...)').option('-f, --follow', 'keep printing new entries as they are appended'),
    async (_args, opts, out) => {
      const filter: LogFilter = { run: opts.run, kinds: opts.kind ? opts.kind.split(',').map((k) => k.trim()).filter(Boolean) : undefined };
      if (!opts.follow) {
        const entries = await readView(opts.dir, 'log', { run: filter.run, kind: filter.kinds?.join(',') }, (state) => logView(state, filter));
        if (out.json) return out.document(entries);
        if (entries.length === 0) return out.line('no entries');
        out.table(
          ['SEQ', 'TIME', 'RUN', 'EPOCH', 'KIND', 'RULE', 'REASON'],
          entries.map((e) => [String(e.seq), formatTime(e.at), e.run ?? '', e.epoch === undefined ? '' : String(e.epoch), kindCell(out, e.kind), e.rule ?? '', e.reason]),
          ['right', 'left', 'left', 'right'],
        );
        return;
      }
      const source = await openForRead(opts.dir);
      try {
        const entries = logView(source.state, filter);
        for (const entry of entries) printFollowed(out, entry);
        // Following locally means holding the directory: advertise it so other readers can read through us.
        const server = source.ledger ? await startOwnerServer({ dir: source.dir, ledger: source.ledger }).catch(() => undefined) : undefined;
        let lastSeq = source.state.lastSeq;
        let stream = source.follow(lastSeq + 1);
        let stopped = false;
        const stop = () => {
          stopped = true;
          stream.close();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          for (;;) {
            try {
              for await (const item of stream) {
                if (item.kind !== 'event' || item.event.seq <= lastSeq) continue;
                lastSeq = item.event.seq;
                const entry = toLogEntry(item.event);
                if (entry && matchesLogFilter(entry, filter)) printFollowed(out, entry);
              }
            } catch (error) {
              // An owner that is shutting down refuses the reconnect: same as its stream ending.
              if (!hasCode(error) || error.code !== 'CLI_OWNER_UNREACHABLE' || source.via.kind !== 'owner') throw error;
            }
            if (stopped || source.via.kind !== 'owner') break;
            await new Promise((r) => setTimeout(r, 200));
            // The stream ended: the owner exited (we stop) or dropped us, or another owner took over (we go on).
            const next = await readOwner(source.dir);
            if (!next) {
              out.note(`process ${source.via.pid} released ${opts.dir}; stopped following`);
              break;
            }
            stream = openOwnerEvents(next, lastSeq + 1);
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await server?.close();
        }
      } finally {
        await source.close();
      }
    },
  );
}

function printFollowed(out: Output, e: LogEntry): void {
  if (out.json) return out.jsonLine(e);
  const where = [e.run, e.epoch !== undefined ? `e${e.epoch}` : ''].filter(Boolean).join(' ');
  out.line(`${out.c.dim(String(e.seq).padStart(6))} ${out.c.dim(formatTime(e.at))}  ${where.padEnd(12)} ${kindCell(out, e.kind.padEnd(12))} ${e.reason}`);
}

function kindCell(out: Output, kind: string): string {
  const k = kind.trim();
  if (k === 'save' || k === 'commit') return out.c.green(kind);
  if (k === 'skip') return out.c.dim(kind);
  if (k === 'prune' || k === 'pruned') return out.c.yellow(kind);
  if (k === 'crash' || k === 'corrupt' || k === 'missing' || k === 'fault' || k === 'backup-failed') return out.c.red(kind);
  if (k === 'stop' || k === 'restore' || k === 'warn') return out.c.magenta(kind);
  return out.c.cyan(kind);
}
