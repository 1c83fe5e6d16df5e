import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { logView, matchesLogFilter, toLogEntry, type LogEntry, type LogFilter } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatTime } from '../format.js';
import type { Output } from '../output.js';
import { openForRead, readView } from '../source.js';
import { readOwner } from '../../server/owner-file.js';
import { hasCode } from '../../errors.js';
import { openOwnerEvents, type EventStream } from '../remote.js';

type LogOptions = CommonOptions & { run?: string; follow?: boolean; kind?: string };

/**
 * `ckpt log [--run R] [--kind k,...] [--follow]`: the audit trail — every decision in order with its reason and
 * numbers, plus commits, prunes, crashes and resumes. `--follow` keeps printing live entries (one JSON object per
 * line with --json), read through the run that owns the directory, until that run exits or Ctrl-C.
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
        out.line(logHeader(out));
        for (const entry of entries) out.line(logRow(out, entry));
        return;
      }
      await followLog(opts.dir, filter, out);
    },
  );
}

/**
 * `log --follow`: the trail so far, then live entries read through the directory's owner (the `ckpt train` or
 * `ckpt serve` holding it). With no owner it prints what is stored, releases the directory (so a `ckpt train`
 * started next can own it) and waits for an owner; it ends when the owner it follows exits, or on Ctrl-C.
 */
async function followLog(dir: string, filter: LogFilter, out: Output): Promise<void> {
  let stopped = false;
  let stream: EventStream | undefined;
  const stop = () => {
    stopped = true;
    stream?.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // Started before the run: wait for its directory, then for its owner (which holds the ledger from its first
    // moment, so opening it ourselves would only race the run for the lock).
    const waited = !existsSync(join(resolve(dir), 'ledger'));
    if (waited) {
      out.note(`${dir} does not exist yet; waiting for a run to create it (ckpt train --dir ${dir}), Ctrl-C to stop`);
      while (!stopped && !existsSync(join(resolve(dir), 'ledger'))) await sleep(OWNER_POLL_MS);
      if (stopped) return;
    }
    const source = await openForRead(dir, waited ? { waitForOwnerMs: 60_000 } : {});
    const lastSeq = source.state.lastSeq;
    try {
      if (!out.json) out.line(logHeader(out));
      for (const entry of logView(source.state, filter)) printFollowed(out, entry);
    } finally {
      await source.close();
    }
    await followOwners(source.dir, dir, filter, out, lastSeq, () => stopped, (s) => (stream = s));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Follow whichever process owns the directory, from `lastSeq + 1`, until none does or `stopped()`. */
async function followOwners(
  abs: string, dir: string, filter: LogFilter, out: Output, fromSeq: number, stopped: () => boolean, setStream: (s: EventStream) => void,
): Promise<void> {
  let lastSeq = fromSeq;
  let owner = await readOwner(abs);
  if (!owner) {
    out.note(`no run owns ${dir} yet; waiting for one (ckpt train or ckpt serve) to follow, Ctrl-C to stop`);
    while (!owner && !stopped()) {
      await sleep(OWNER_POLL_MS);
      owner = await readOwner(abs);
    }
  }
  while (owner && !stopped()) {
    const stream = openOwnerEvents(owner, lastSeq + 1);
    setStream(stream);
    try {
      for await (const item of stream) {
        if (item.kind !== 'event' || item.event.seq <= lastSeq) continue;
        lastSeq = item.event.seq;
        const entry = toLogEntry(item.event);
        if (entry && matchesLogFilter(entry, filter)) printFollowed(out, entry);
      }
    } catch (error) {
      // An owner that is shutting down refuses the reconnect: same as its stream ending.
      if (!hasCode(error) || error.code !== 'CLI_OWNER_UNREACHABLE') throw error;
    }
    if (stopped()) break;
    await sleep(OWNER_POLL_MS);
    // The stream ended: the owner exited (we stop) or dropped us, or another owner took over (we go on).
    const next = await readOwner(abs);
    if (!next) out.note(`process ${owner.pid} released ${dir}; stopped following`);
    owner = next;
  }
}

const OWNER_POLL_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function printFollowed(out: Output, e: LogEntry): void {
  if (out.json) return out.jsonLine(e);
  out.line(logRow(out, e));
}

/**
 * Column widths of the trail: fixed, so that `log` and `log --follow` (which cannot know later rows) print the
 * very same lines; a longer value widens only its own row.
 */
const COLUMNS = [
  { head: 'SEQ', width: 6, right: true },
  { head: 'TIME', width: 19 },
  { head: 'RUN', width: 8 },
  { head: 'EPOCH', width: 5, right: true },
  { head: 'KIND', width: 8 },
  { head: 'RULE', width: 14 },
  { head: 'REASON', width: 0 },
] as const;

function cells(values: string[], style: (text: string, column: number) => string): string {
  return values
    .map((value, i) => {
      const { width } = COLUMNS[i];
      const padded = 'right' in COLUMNS[i] ? value.padStart(width) : value.padEnd(width);
      return style(padded, i);
    })
    .join('  ')
    .trimEnd();
}

/** The header line of the trail. */
function logHeader(out: Output): string {
  return cells(COLUMNS.map((c) => c.head), (text) => out.c.bold(text));
}

/**
 * One audit-trail row, the only formatter of `ckpt log` and `ckpt log --follow`.
 * @example logRow(out, { seq: 4, at, run: 'run-1', epoch: 1, kind: 'save', rule: 'everyNEpochs', reason: '...' })
 */
function logRow(out: Output, e: LogEntry): string {
  const values = [String(e.seq), formatTime(e.at), e.run ?? '', e.epoch === undefined ? '' : String(e.epoch), e.kind, e.rule ?? '', e.reason];
  return cells(values, (text, i) => (i === 4 ? kindCell(out, text) : text));
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
