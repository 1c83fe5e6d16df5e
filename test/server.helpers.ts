/**
 * HTTP helpers for the server suites: raw GETs (paths sent exactly as written) and an SSE collector.
 */
import { request } from 'node:http';
import { createSseParser, type SseMessage } from '../src/server/sse-parser.js';

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** GET `path` (sent verbatim, no normalisation) from `base` with optional headers. */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SseCollection { status: number; messages: SseMessage[]; comments: number }

/**
 * Open an SSE stream and collect messages until `until(messages)` is true (or `timeoutMs`, which rejects).
 * @example const { messages } = await collectSse(url, '/api/events?from=1', (m) => m.some((x) => x.event === 'caught-up'))
 */
export function collectSse(base: string, path: string, until: (messages: SseMessage[], comments: number) => boolean, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<SseCollection> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const messages: SseMessage[] = [];
    let comments = 0;
    let status = 0;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`SSE ${path}: condition not met within ${options.timeoutMs ?? 10_000} ms; got ${messages.length} messages`));
    }, options.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      req.destroy();
      resolve({ status, messages, comments });
    };
    const req = request({ host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream', ...options.headers } }, (res) => {
      status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        finish();
        return;
      }
      res.setEncoding('utf8');
      const feed = createSseParser((m) => messages.push(m));
      res.on('data', (chunk: string) => {
        comments += (chunk.match(/^:/gm) ?? []).length;
        feed(chunk);
        if (until(messages, comments)) finish();
      });
      res.on('end', () => {
        if (until(messages, comments)) finish();
        else {
          clearTimeout(timer);
          reject(new Error(`SSE ${path} ended early after ${messages.length} messages`));
        }
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

export const eventSeqs = (messages: SseMessage[]): number[] => messages.filter((m) => m.event === 'message').map((m) => Number(m.id));
export const caughtUp = (messages: SseMessage[]): boolean => messages.some((m) => m.event === 'caught-up');

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface OwnerChild {
  child: ChildProcess;
  url: string;
  port: number;
  pid: number;
  lastSeq: number;
  /** Send a stdin command and wait for its JSON reply line. */
  command(line: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const liveOwners = new Set<ChildProcess>();

/** SIGKILL every owner child still running: call from `test.after.each`, so a failed assertion leaves none behind. */
export function killOwnerChildren(): void {
  for (const child of liveOwners) child.kill('SIGKILL');
}

/** Start test/server.owner-child.ts on `dir` and wait for its first line. */
export async function startOwnerChild(dir: string, epochs = 4): Promise<OwnerChild> {
  const script = new URL('./server.owner-child.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(epochs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  liveOwners.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => {
    liveOwners.delete(child);
    resolve({ code, signal });
  }));
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve, reject) => {
    waiting.push(resolve);
    exited.then(({ code, signal }) => reject(new Error(`owner child exited (${code ?? signal}) before answering`)));
  });
  const first = JSON.parse(await nextLine());
  return {
    child, ...first, exited,
    async command(line: string) {
      const answer = nextLine();
      child.stdin!.write(line + '\n');
      return JSON.parse(await answer);
    },
  };
}
