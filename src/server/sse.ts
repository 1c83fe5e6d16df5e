/**
 * Server-Sent Events over the ledger's tail. Every ledger event is one SSE message whose `id` is its seq, so
 * a browser's automatic reconnect (or any client sending `Last-Event-ID`) resumes with no gap and no duplicate.
 * After the replay one `event: caught-up` message carries the seq the replay reached; comment lines keep
 * proxies from closing an idle stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import type { Ledger, LedgerEvent, TailItem } from '../../ledger/types.js';

export interface EventStreamOptions {
  /** First seq to send (inclusive) when the request has no Last-Event-ID. Default 1. */
  from?: number;
  /** Only these event types (the caught-up marker is always sent). */
  types?: ReadonlySet<string>;
  /** Never these event types (e.g. the page skips BatchEnded and TrainerLog). */
  exclude?: ReadonlySet<string>;
  /** Milliseconds between heartbeat comments. Default 15000. */
  heartbeatMs?: number;
  /** A client this far behind (bytes buffered) is disconnected; it resumes with Last-Event-ID. Default 16 MiB. */
  maxBufferedBytes?: number;
  /**
   * Send the events of one tick as one `event: batch` message whose data is a JSON array and whose `id` is the
   * last seq in it (`?batch=1`). Same resume rule; a browser replays a long ledger far faster this way.
   */
  batch?: boolean;
}

/**
 * Where a stream starts: `Last-Event-ID` + 1 when the client is resuming, else `?from=` (inclusive), else 1.
 * @example resumeSeq('41', '7') // 42
 */
export function resumeSeq(lastEventId: string | undefined, from: string | null | undefined): number {
  const last = Number(lastEventId);
  if (lastEventId !== undefined && lastEventId !== '' && Number.isInteger(last) && last >= 0) return last + 1;
  const first = Number(from);
  return from != null && from !== '' && Number.isInteger(first) && first >= 1 ? first : 1;
}

/**
 * One SSE message for a ledger event.
 * @example formatEventMessage(event) // 'id: 42\ndata: {"seq":42,...}\n\n'
 */
export function formatEventMessage(event: LedgerEvent): string {
  return `id: ${event.seq}\ndata: ${toJson(event)}\n\n`;
}

/** JSON that survives the odd bigint (as a string) instead of throwing mid-stream. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Answer an SSE request from the ledger's tail until the client goes away or the server closes.
 * Returns a function that ends the stream.
 * @example server.on('request', (req, res) => streamLedgerEvents(req, res, ledger, { from: 1 }))
 */
export function streamLedgerEvents(req: IncomingMessage, res: ServerResponse, ledger: Ledger, options: EventStreamOptions = {}): () => void {
  const lastEventId = req.headers['last-event-id'];
  const from = resumeSeq(Array.isArray(lastEventId) ? lastEventId[0] : lastEventId, options.from === undefined ? null : String(options.from));
  const maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.socket?.setNoDelay(true);

  let pending = '';
  let batched: string[] = [];
  let batchedLastSeq = 0;
  let flushScheduled = false;
  let ended = false;
  let subscription: Subscription | undefined;
  const closeBatch = (): void => {
    if (batched.length === 0) return;
    pending += `id: ${batchedLastSeq}\nevent: batch\ndata: [${batched.join(',')}]\n\n`;
    batched = [];
  };
  const flush = (): void => {
    flushScheduled = false;
    closeBatch();
    if (ended || pending === '') return;
    res.write(pending);
    pending = '';
    if (res.writableLength > maxBuffered) end();
  };
  // Coalesce the writes of one tick (a replay emits many events at once) into one socket write.
  const send = (chunk: string, event?: LedgerEvent): void => {
    if (ended) return;
    if (event && options.batch) {
      batched.push(toJson(event));
      batchedLastSeq = event.seq;
    } else {
      closeBatch(); // keep order: events before a marker stay before it
      pending += chunk;
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  const end = (): void => {
    if (ended) return;
    flush();
    ended = true;
    clearInterval(heartbeat);
    subscription?.unsubscribe();
    res.end();
  };

  send(`retry: 1000\n: ckpt ledger from seq ${from}\n\n`);
  const heartbeat = setInterval(() => send(`: heartbeat ${Date.now()}\n\n`), options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  subscription = ledger.tail(from).subscribe({
    next: (item: TailItem) => {
      if (item.kind === 'event') {
        const type = item.event.type;
        if ((!options.types || options.types.has(type)) && !options.exclude?.has(type)) {
          send(options.batch ? '' : formatEventMessage(item.event), item.event);
        }
      } else {
        send(`event: caught-up\ndata: ${toJson({ seq: item.seq })}\n\n`);
      }
    },
    error: (error: unknown) => {
      send(`event: server-error\ndata: ${toJson({ message: error instanceof Error ? error.message : String(error) })}\n\n`);
      end();
    },
    complete: end,
  });
  res.on('close', end);
  res.on('error', end);
  return end;
}
