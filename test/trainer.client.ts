/**
 * Test helper (not a suite): drive a trainer process over the real protocol — spawn, send commands, await
 * messages by type — with no supervisor in between.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeFrame, FrameDecoder, TRAINER_MESSAGE_TYPES } from '../src/protocol/index.js';
import type { BatchEnd, Done, StateReply, SupervisorMessage, TrainConfig, TrainerMessage as WireMessage } from '../src/protocol/index.js';
import { assertInMemory } from '../src/protocol/staged.js';
import type { CheckpointState } from '../src/checkpoint.js';

/** What this client receives: it offers no staging directory, so every state reply is in memory (checked). */
type TrainerMessage = Exclude<WireMessage, StateReply> | (Omit<StateReply, 'state'> & { state: CheckpointState });
import { resolveTrainer } from '../src/trainers.js';

export interface TrainerClient {
  child: ChildProcess;
  messages: TrainerMessage[];
  stderr: string[];
  send(message: SupervisorMessage): void;
  /** Resolve with the first message of `type` (and matching `predicate`) that arrives after this call. */
  next<T extends TrainerMessage['type']>(type: T, predicate?: (m: Extract<TrainerMessage, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<TrainerMessage, { type: T }>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Decoder error on the trainer's stdout, if any. */
  fault?: Error;
}

const live = new Set<ChildProcess>();

/** SIGKILL every trainer still running: call from `test.after`, so a failed assertion cannot hang the suite. */
export function killAllTrainers(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Spawn a trainer (a name known to resolveTrainer, or a path) and drive it over the real protocol.
 * @example const t = startTrainer('mnist-mlp'); await t.next('hello'); t.send({ type: 'exit' }); await t.exited
 */
export function startTrainer(nameOrPath: string, env: Record<string, string> = {}): TrainerClient {
  const resolved = resolveTrainer(nameOrPath);
  const child = spawn(resolved.command, resolved.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const decoder = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES });
  const waiters: Array<{ type: string; predicate?: (m: any) => boolean; resolve(m: any): void; reject(e: Error): void }> = [];
  const failAll = (why: string) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${why} while waiting for ${w.type}; stderr: ${client.stderr.join('').slice(-1500)}`));
  };
  const client: TrainerClient = {
    child,
    messages: [],
    stderr: [],
    send(message) {
      // No supervisor here sends `release`: let a 'hold' trainer keep every state instead of waiting for one.
      if (message.type === 'start' && message.config.maxHeld === undefined) message = { ...message, config: { ...message.config, maxHeld: 1_000_000 } };
      child.stdin!.write(encodeFrame(message as unknown as { type: string } & Record<string, unknown>));
    },
    next(type, predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const waiter = { type, predicate, resolve: (m: any) => { clearTimeout(timer); resolve(m); }, reject: (e: Error) => { clearTimeout(timer); reject(e); } };
        const timer = setTimeout(() => {
          // Drop the waiter, so a late message is not taken by a wait that already failed.
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out waiting for ${type}; stderr: ${client.stderr.join('').slice(-2000)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    exited: new Promise((resolve) => child.on('close', (code, signal) => { failAll(`trainer exited (${code ?? signal})`); resolve({ code, signal }); })),
  };
  child.stdin!.on('error', () => {});
  live.add(child);
  child.on('close', () => live.delete(child));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => client.stderr.push(s));
  child.stdout!.on('data', (chunk: Buffer) => {
    try {
      for (const m of decoder.push(chunk)) {
        if (m.type === 'state') assertInMemory((m as unknown as StateReply).state, 'state reply');
        client.messages.push(m as unknown as TrainerMessage);
        for (let i = 0; i < waiters.length; i++) {
          const w = waiters[i];
          if (w.type === m.type && (!w.predicate || w.predicate(m))) {
            waiters.splice(i, 1);
            w.resolve(m);
            break;
          }
        }
        // A fatal trainer error (no requestId) ends every wait that is not for an error.
        if (m.type === 'error' && !m.requestId && !waiters.some((w) => w.type === 'error')) failAll(`trainer error ${m.code as string}: ${m.message as string}`);
      }
    } catch (error) {
      client.fault = error as Error;
    }
  });
  return client;
}

/**
 * Start a fresh trainer, stop it once `at` matches a batch_end, save "now" (mid-epoch) and let it exit: the
 * given/when of every mid-epoch resume test.
 * @example const { done, state } = await stopMidEpochAndSave('mnist-mlp', { ...config, epochs: 50 }, 7, (m) => m.epoch === 2)
 */
export async function stopMidEpochAndSave(
  nameOrPath: string, config: TrainConfig, seed: number, at: (m: BatchEnd) => boolean,
): Promise<{ done: Done; state: CheckpointState }> {
  const t = startTrainer(nameOrPath);
  await t.next('hello');
  t.send({ type: 'start', config, seed });
  await t.next('batch_end', at);
  t.send({ type: 'stop', reason: 'interrupt' });
  const done = await t.next('done');
  t.send({ type: 'save', requestId: 'mid', at: 'now' });
  const { state } = await t.next('state', (m) => m.requestId === 'mid');
  t.send({ type: 'exit' });
  await t.exited;
  return { done, state };
}
