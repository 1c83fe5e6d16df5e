/**
 * Reading through a live owner: the ledger's events over the owner's SSE endpoint (`GET /api/events?from=`),
 * folded locally by the same projection the owner would use — so remote answers equal local ones.
 */
import { request } from 'node:http';
import type { LedgerEvent, TailItem } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import { createSseParser } from '../server/sse-parser.js';
import type { Owner } from '../server/owner-file.js';

export interface EventStream extends AsyncIterable<TailItem> {
  close(): void;
}

/**
 * Open the owner's event stream from `fromSeq` (inclusive): every event, one caught-up marker, then live events
 * until the owner goes away (the iterator then ends) or `close()`.
 * @example for await (const item of openOwnerEvents(owner, 1)) if (item.kind === 'event') console.log(item.event.seq)
 */
export function openOwnerEvents(owner: Owner, fromSeq: number): EventStream {
  const queue: TailItem[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (owner.token) headers.authorization = `Bearer ${owner.token}`;
  const req = request(`${owner.url}/api/events?from=${fromSeq}`, { method: 'GET', headers }, (res) => {
    if (res.statusCode !== 200) {
      failure = new CkptError('CLI_OWNER_UNREACHABLE', `the owner of this directory (pid ${owner.pid}) answered HTTP ${res.statusCode} at ${owner.url}; retry, or stop it and read the directory directly`);
      res.resume();
      done = true;
      notify();
      return;
    }
    res.setEncoding('utf8');
    const feed = createSseParser((message) => {
      if (message.event === 'caught-up') queue.push({ kind: 'caught-up', seq: Number(JSON.parse(message.data).seq) });
      else if (message.event === 'message') queue.push({ kind: 'event', event: JSON.parse(message.data) as LedgerEvent });
      else if (message.event === 'server-error') failure = new CkptError('CLI_OWNER_UNREACHABLE', `the owner (pid ${owner.pid}) failed while streaming: ${message.data}`);
      notify();
    });
    res.on('data', feed);
    res.on('end', () => {
      done = true;
      notify();
    });
    res.on('error', () => {
      done = true;
      notify();
    });
  });
  req.on('error', (error) => {
    failure ??= new CkptError('CLI_OWNER_UNREACHABLE', `cannot reach the owner of this directory (pid ${owner.pid}) at ${owner.url}; retry, or stop it and read the directory directly`, { cause: error });
    done = true;
    notify();
  });
  req.end();
  return {
    close() {
      done = true;
      req.destroy();
      notify();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length) yield queue.shift()!;
        if (failure) throw failure;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
