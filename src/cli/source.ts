/**
 * Where a command gets its data. Read commands open `<dir>/ledger` themselves when no process owns it, and read
 * through the owner's HTTP API when one does (a `ckpt train` or `ckpt serve` in another terminal). Write
 * commands need ownership: with a live owner they fail with LEDGER_LOCKED naming its pid.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openLedgerFor, sharedLedger } from '../store/locations.js';
import type { Ledger, LedgerEvent, TailItem } from '../../ledger/types.js';
import { CkptError, hasCode } from '../errors.js';
import { readOwner, type Owner } from '../server/owner-file.js';
import { fetchJson } from '../server/client.js';
import { evolveCatalog, initialCatalog, readViewState, type CatalogState } from '../views/index.js';
import { openOwnerEvents } from './remote.js';
import { createAsyncQueue } from './async-queue.js';

export interface ReadSource {
  dir: string;
  /** The read model as of opening. */
  state: CatalogState;
  /** How we read: our own open of the directory, or through the owner process. */
  via: { kind: 'local' } | { kind: 'owner'; pid: number; url: string };
  /** Stored events from `fromSeq`, a caught-up marker, then live ones (until the owner exits or close()). */
  follow(fromSeq: number): AsyncIterable<TailItem> & { close(): void };
  /** Every stored event, in order (for replays). */
  events(): Promise<LedgerEvent[]>;
  /** The open ledger when reading locally (undefined through an owner). */
  ledger?: Ledger;
  close(): Promise<void>;
}

/** True when `dir` holds a ckpt ledger. */
export function hasLedger(dir: string): boolean {
  // A shared ledger (--ledger postgres://…) is the ledger whatever the directory holds.
  return sharedLedger() !== undefined || existsSync(join(resolve(dir), 'ledger'));
}

/**
 * STORE_NOT_FOUND for a directory without a ledger: nothing was trained there yet (or --dir is wrong).
 * @example throw noCheckpointsYet('./checkpoints')
 */
export function noCheckpointsYet(dir: string, cause?: unknown): CkptError {
  return new CkptError('STORE_NOT_FOUND', `no checkpoints in ${dir} yet (run \`npx ckpt train --dir ${dir}\`, or pass the --dir of an existing run)`, { cause, details: { dir: resolve(dir) } });
}

/** Fail with STORE_NOT_FOUND when `dir` holds no ckpt ledger. */
export function assertCkptDir(dir: string): string {
  if (!hasLedger(dir)) throw noCheckpointsYet(dir);
  return resolve(dir);
}

/**
 * Open a directory for reading, locally or through its live owner.
 * @example const src = await openForRead('./checkpoints'); listCheckpoints(src.state); await src.close()
 */
export async function openForRead(dir: string, options: { waitForOwnerMs?: number } = {}): Promise<ReadSource> {
  const found = await locate(dir, options);
  return found.kind === 'owner' ? openRemote(found.dir, found.owner) : found.source;
}

/**
 * Answer one view: through the owner's `/api/<route>` when a process owns the directory (one request, computed
 * by the owner with the same view functions), else by computing it over a local read. An owner without that
 * route is read through its event stream instead. A directory without a ledger answers as an empty read model
 * (an empty list), and a view that needs a checkpoint fails with STORE_NOT_FOUND "no checkpoints in DIR yet".
 * @example const rows = await readView('./checkpoints', 'checkpoints', { all: '1' }, (s) => listCheckpoints(s, { all: true }))
 */
export async function readView<T>(dir: string, route: string, params: Record<string, string | undefined>, compute: (state: CatalogState) => T): Promise<T> {
  // No ledger yet reads as an empty one: lists are empty, and whatever needs a checkpoint says none exists yet.
  if (!hasLedger(dir)) {
    try {
      return compute(initialCatalog());
    } catch (error) {
      throw hasCode(error) && error.code === 'CLI_REF_UNKNOWN' ? noCheckpointsYet(dir, error) : error;
    }
  }
  const found = await locate(dir);
  if (found.kind === 'local') {
    try {
      return compute(found.source.state);
    } finally {
      await found.source.close();
    }
  }
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  try {
    return await fetchJson<T>(found.owner, `/api/${route}${query ? `?${query}` : ''}`);
  } catch (error) {
    if (hasCode(error) && !/^SERVER_/.test(error.code)) throw error;
    const remote = await openRemote(found.dir, found.owner);
    return compute(remote.state);
  }
}

type Located = { kind: 'owner'; dir: string; owner: Owner } | { kind: 'local'; source: ReadSource };

async function locate(dir: string, options: { waitForOwnerMs?: number } = {}): Promise<Located> {
  // A shared ledger (--ledger postgres://…) is read directly: many writers, no directory owner to go through.
  if (sharedLedger()) return { kind: 'local', source: await openLocal(resolve(dir)) };
  const abs = assertCkptDir(dir);
  const owner = await readOwner(abs);
  if (owner) return { kind: 'owner', dir: abs, owner };
  try {
    return { kind: 'local', source: await openLocal(abs) };
  } catch (error) {
    if (!hasCode(error) || error.code !== 'LEDGER_LOCKED') throw error;
    // Locked but not advertised (yet): an owner that is starting up writes owner.json within moments.
    const deadline = Date.now() + (options.waitForOwnerMs ?? 3000);
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150));
      const late = await readOwner(abs);
      if (late) return { kind: 'owner', dir: abs, owner: late };
    }
    const pid = error.details?.pid;
    throw new CkptError('LEDGER_LOCKED', `${dir} is owned by ${typeof pid === 'number' ? `process ${pid}` : 'another process'}, which does not serve reads (no live owner.json); wait for it to finish, or start runs with \`ckpt train\` so others can read through them`, { cause: error, details: { dir: abs, pid } });
  }
}

async function openLocal(abs: string): Promise<ReadSource> {
  const ledger = await openLedgerFor(abs);
  try {
    const state = await readViewState(ledger);
    return {
      dir: abs, state, ledger, via: { kind: 'local' },
      follow: (fromSeq) => tailToIterable(ledger, fromSeq),
      events: async () => {
        const all: LedgerEvent[] = [];
        for await (const event of ledger.read()) all.push(event);
        return all;
      },
      close: () => ledger.close(),
    };
  } catch (error) {
    await ledger.close();
    throw error;
  }
}

async function openRemote(abs: string, owner: Owner): Promise<ReadSource> {
  const stream = openOwnerEvents(owner, 1);
  let state = initialCatalog();
  try {
    for await (const item of stream) {
      if (item.kind === 'event') state = evolveCatalog(state, item.event);
      else break;
    }
  } finally {
    stream.close();
  }
  return {
    dir: abs, state, via: { kind: 'owner', pid: owner.pid, url: owner.url },
    follow: (fromSeq) => openOwnerEvents(owner, fromSeq),
    events: async () => {
      const all: LedgerEvent[] = [];
      const replay = openOwnerEvents(owner, 1);
      try {
        for await (const item of replay) {
          if (item.kind === 'event') all.push(item.event);
          else break;
        }
      } finally {
        replay.close();
      }
      return all;
    },
    close: async () => {},
  };
}

/** The ledger's tail as an async iterable (ends on close()). */
function tailToIterable(ledger: Ledger, fromSeq: number): AsyncIterable<TailItem> & { close(): void } {
  const queue = createAsyncQueue<TailItem>();
  const subscription = ledger.tail(fromSeq).subscribe({
    next: (item) => queue.push(item),
    error: (error) => queue.fail(error),
    complete: () => queue.end(),
  });
  return {
    close() {
      subscription.unsubscribe();
      queue.end();
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}

/**
 * A write command's ownership check: with a live owner, fail with LEDGER_LOCKED naming its pid before trying.
 * @example await assertNotOwned('./checkpoints', 'ckpt tag')
 */
export async function assertNotOwned(dir: string, what: string): Promise<void> {
  const owner = await readOwner(resolve(dir));
  if (owner) throw lockedError(dir, what, owner.pid);
}

/** LEDGER_LOCKED for a write command, naming the owner's pid. */
export function lockedError(dir: string, what: string, pid: unknown, cause?: unknown): CkptError {
  const who = typeof pid === 'number' ? `process ${pid}` : 'another process';
  return new CkptError('LEDGER_LOCKED', `${what} needs to write to ${dir}, which ${who} owns (another ckpt process: train or serve); wait for it to finish or stop it, then retry`, { cause, details: { dir, pid } });
}
