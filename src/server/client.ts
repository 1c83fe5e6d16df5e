/**
 * Reading a ledger through its owner: what other processes (the CLI while `ckpt train` runs, `ckpt serve`)
 * use when they cannot open the LevelDB directory themselves.
 */
import { request, type IncomingMessage } from 'node:http';
import type { LedgerEvent } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import { createSseParser } from './sse-parser.js';

/** Where to reach a server: an `Owner` from `readOwner`, or any `{url, token?}`. */
export interface ServerAddress {
  url: string;
  token?: string;
}

function headersFor(owner: ServerAddress, extra: Record<string, string> = {}): Record<string, string> {
  return owner.token ? { authorization: `Bearer ${owner.token}`, ...extra } : extra;
}

/**
 * GET a JSON endpoint of the owner. Errors the server reports come back as CkptError with its code.
 * @example const { runs } = await fetchJson<{ runs: unknown[] }>(owner, '/api/runs')
 */
export function fetchJson<T = unknown>(owner: ServerAddress, path: string, options: { timeoutMs?: number } = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request(new URL(path, owner.url), { method: 'GET', headers: headersFor(owner, { accept: 'application/json' }), timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', (error) => reject(unavailable(owner, error)));
      res.on('end', () => {
        let parsed: any;
        try {
          parsed = JSON.parse(body);
        } catch (error) {
          reject(new CkptError('SERVER_BAD_RESPONSE', `${owner.url}${path} did not answer JSON (status ${res.statusCode}); is it a ckpt server?`, { cause: error }));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const e = parsed?.error ?? {};
          reject(new CkptError(e.code ?? 'SERVER_ERROR', e.message ?? `HTTP ${res.statusCode} from ${path}`, { details: { status: res.statusCode, ...(e.details ?? {}) } }));
          return;
        }
        resolve(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', (error) => reject(unavailable(owner, error)));
    req.end();
  });
}

export interface FollowOptions {
  /** First seq to receive (inclusive). Default 1. */
  from?: number;
  /** Only these event types. */
  types?: readonly string[];
  /** Never these event types. */
  exclude?: readonly string[];
  /** Called with the seq the replay reached, once per connection. */
  onCaughtUp?: (seq: number) => void;
  /** Stop following (the iterator then ends normally). */
  signal?: AbortSignal;
  /** Reconnect attempts after a dropped connection before giving up with SERVER_UNAVAILABLE. Default 5. */
  retries?: number;
  /** Milliseconds between reconnect attempts. Default 500. */
  retryMs?: number;
}

/**
 * Follow the owner's ledger: every event from `from` on, in seq order, then live ones. A dropped connection is
 * resumed with Last-Event-ID (no gap, no duplicate). When the owner is gone for good the iterator throws
 * SERVER_UNAVAILABLE with `details.lastSeq`, so a caller can open the ledger itself and continue from there.
 * @example
 *   for await (const event of followEvents(owner, { from: 1 })) console.log(event.seq, event.type)
 */
export async function* followEvents(owner: ServerAddress, options: FollowOptions = {}): AsyncGenerator<LedgerEvent> {
  let lastSeq = Math.max(0, (options.from ?? 1) - 1);
  let failures = 0;
  const retries = options.retries ?? 5;
  while (!options.signal?.aborted) {
    const queue: LedgerEvent[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    const query = new URLSearchParams({ from: String(lastSeq + 1) });
    if (options.types?.length) query.set('types', options.types.join(','));
    if (options.exclude?.length) query.set('exclude', options.exclude.join(','));
    const headers = headersFor(owner, { accept: 'text/event-stream', ...(lastSeq > 0 ? { 'last-event-id': String(lastSeq) } : {}) });
    const req = request(new URL(`/api/events?${query}`, owner.url), { method: 'GET', headers });
    const onAbort = (): void => {
      done = true;
      req.destroy();
      notify();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          let e: any = {};
          try {
            e = JSON.parse(body).error ?? {};
          } catch {
            // not JSON
          }
          failure = new CkptError(e.code ?? 'SERVER_ERROR', e.message ?? `HTTP ${res.statusCode} from /api/events`, { details: { status: res.statusCode, fatal: true } });
          done = true;
          notify();
        });
        return;
      }
      res.socket.setNoDelay(true);
      res.setEncoding('utf8');
      const feed = createSseParser((message) => {
        // Only a stream that makes progress resets the retry budget: an owner that accepts and then fails at the
        // same record every time (a corrupt ledger) must end in SERVER_UNAVAILABLE, not in endless reconnects.
        if (message.event === 'caught-up' || message.event === 'message') failures = 0;
        if (message.event === 'caught-up') options.onCaughtUp?.(Number(JSON.parse(message.data).seq));
        else if (message.event === 'message') queue.push(JSON.parse(message.data) as LedgerEvent);
        else if (message.event === 'server-error') failure = new CkptError('SERVER_ERROR', JSON.parse(message.data).message ?? 'server error');
      });
      res.on('data', (chunk: string) => {
        feed(chunk);
        if (queue.length > 0) notify();
      });
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
      failure ??= error;
      done = true;
      notify();
    });
    req.end();
    try {
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift()!;
          if (event.seq <= lastSeq) continue; // never a duplicate, even from a misbehaving proxy
          lastSeq = event.seq;
          yield event;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      req.destroy();
    }
    if (options.signal?.aborted) return;
    const fatal = failure instanceof CkptError && (failure.details as { fatal?: boolean }).fatal;
    if (fatal) throw failure;
    failures++;
    if (failures > retries) {
      throw new CkptError('SERVER_UNAVAILABLE', `lost the owner at ${owner.url}; open the ledger directly and continue after seq ${lastSeq}`, { cause: failure, details: { lastSeq } });
    }
    await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 500));
  }
}

function unavailable(owner: ServerAddress, error: unknown): CkptError {
  return new CkptError('SERVER_UNAVAILABLE', `cannot reach the ckpt owner at ${owner.url}; is it still running? (${(error as Error).message})`, { cause: error });
}
