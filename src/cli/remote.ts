/**
 * Reading through a live owner: the ledger's events over the owner's SSE endpoint (`GET /api/events?from=`),
 * folded locally by the same projection the owner would use — so remote answers equal local ones.
 */
import { request } from 'node:http';
import type { LedgerEvent, TailItem } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import { createAsyncQueue } from './async-queue.js';
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
  const queue = createAsyncQueue<TailItem>();
  const unreachable = (detail: string, cause?: unknown) =>
    new CkptError('CLI_OWNER_UNREACHABLE', `the owner of this directory (pid ${owner.pid}) ${detail} at ${owner.url}; retry, or stop it and read the directory directly`, { cause });
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (owner.token) headers.authorization = `Bearer ${owner.token}`;
  const req = request(`${owner.url}/api/events?from=${fromSeq}`, { method: 'GET', headers }, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      queue.fail(unreachable(`answered HTTP ${res.statusCode}`));
      return;
    }
    res.setEncoding('utf8');
    const feed = createSseParser((message) => {
      if (message.event === 'caught-up') queue.push({ kind: 'caught-up', seq: Number(JSON.parse(message.data).seq) });
      else if (message.event === 'message') queue.push({ kind: 'event', event: JSON.parse(message.data) as LedgerEvent });
      else if (message.event === 'server-error') queue.fail(new CkptError('CLI_OWNER_UNREACHABLE', `the owner (pid ${owner.pid}) failed while streaming: ${message.data}`));
    });
    res.on('data', feed);
    res.on('end', () => queue.end());
    res.on('error', () => queue.end());
  });
  req.on('error', (error) => queue.fail(unreachable('cannot be reached', error)));
  req.end();
  return {
    close() {
      req.destroy();
      queue.end();
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}
