/**
 * The supervisor's side of `save` and `release`: outstanding `save` requests to a trainer, matched to their
 * `state` replies by requestId, and the cumulative `release` a 'hold' trainer waits for. A position request
 * resolves with exactly that position's state or rejects — it never answers with another position's state.
 * A reply that nobody waits for is not consumed (the caller treats it as unexpected).
 *
 * @example
 *   const requests = new StateRequests(trainer, 60_000);
 *   const reply = await requests.request({ epoch: 3, step: 282 }); // sends {type:'save', requestId, epoch: 3, step: 282}
 *   requests.release({ epoch: 3, step: 282 });                      // sends {type:'release', epoch: 3, step: 282} to a 'hold' trainer
 */
import { randomUUID } from 'node:crypto';
import { CkptError } from '../errors.js';
import type { StateReply, TrainerMessage } from '../protocol/messages.js';
import { comparePositions, formatPosition, statePositionMatches, type TrainingPosition } from '../protocol/position.js';
import { discardStaged, inStagingDir } from '../store/staged.js';
import type { TrainerProcess } from './trainer-process.js';

interface Pending { resolve(reply: StateReply): void; reject(error: Error): void; timer: NodeJS.Timeout; settled: Promise<unknown> }

/** What to ask for: exactly the state of a reported position, or the trainer's current state. */
export type StateRequest = TrainingPosition | { at: 'now' };

/** Trainer error codes passed on as the rejection's own code (the rest become PROTOCOL_TRAINER_ERROR). */
const PASSED_ON = new Set(['PROTOCOL_STATE_GONE', 'PROTOCOL_NOT_STARTED', 'STORE_NO_SPACE', 'STAGE_FAILED']);

export class StateRequests {
  private readonly pending = new Map<string, Pending>();
  private closedBy: Error | null = null;
  /** Whether the trainer's hello listed 'hold' (seen by `offer`). */
  private holds = false;
  private released: TrainingPosition | null = null;
  /** The staging directory offered in `start` (capability 'stage'): staged file names in replies are resolved in it. */
  stagingDir: string | null = null;

  constructor(private readonly trainer: Pick<TrainerProcess, 'send'>, private readonly timeoutMs: number) {}

  /**
   * Send `save` and resolve with the trainer's `state` reply: for a position, exactly the state the trainer
   * reported there (else reject: PROTOCOL_STATE_GONE when the trainer no longer has it, PROTOCOL_WRONG_STATE
   * when it answered with another position's); for `{at: 'now'}`, its current state.
   * @example const { state } = await requests.request({ epoch: 2, step: 188 }) // state.trainer: { epoch: 2, step: 188, ... }
   */
  request(what: StateRequest): Promise<StateReply> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const requestId = randomUUID();
    const position = 'at' in what ? null : { epoch: what.epoch, step: what.step };
    let entry: Pending | undefined;
    const reply = new Promise<StateReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new CkptError('PROTOCOL_TIMEOUT', `trainer did not reply to save within ${this.timeoutMs} ms; it must answer save with state between batches`));
      }, this.timeoutMs);
      const exact = (raw: StateReply): void => {
        let reply: StateReply;
        try {
          reply = { ...raw, state: inStagingDir(raw.state, this.stagingDir) };
        } catch (error) {
          return reject(error as Error);
        }
        const got = reply.state.trainer;
        if (position === null || statePositionMatches(got, position)) return resolve(reply);
        // Refused: its staged files are nobody's (the save fails, and nothing else is committed in its place).
        void discardStaged(reply.state);
        reject(new CkptError('PROTOCOL_WRONG_STATE', `trainer answered save for ${formatPosition(position)} with the state of ${formatPosition(got)}; its capture() must return the state of the position it reported`, { details: { asked: position, got: { epoch: got.epoch, step: got.step } } }));
      };
      entry = { resolve: exact, reject, timer, settled: Promise.resolve() };
      this.pending.set(requestId, entry);
      this.trainer.send({ type: 'save', requestId, ...(position ?? { at: 'now' as const }) });
    });
    entry!.settled = reply.catch(() => undefined);
    return reply;
  }

  /**
   * Let a 'hold' trainer drop every state at a position ≤ `position` (cumulative; a no-op for a trainer without
   * 'hold', for a position not past the last release, and once the trainer is gone). Send it after any `save`
   * for that position: the pipe keeps the order.
   * @example requests.release({ epoch: 1, step: 94 })
   */
  release(position: TrainingPosition): void {
    if (!this.holds || this.closedBy) return;
    if (this.released && comparePositions(position, this.released) <= 0) return;
    this.released = { epoch: position.epoch, step: position.step };
    this.trainer.send({ type: 'release', epoch: position.epoch, step: position.step });
  }

  /** Route a trainer message to its waiting request; true when it was consumed. (Notes hello's capabilities.) */
  offer(message: TrainerMessage): boolean {
    if (message.type === 'hello') this.holds = message.capabilities.includes('hold');
    if (message.type !== 'state' && !(message.type === 'error' && message.requestId)) return false;
    const id = message.requestId as string;
    const waiting = this.pending.get(id);
    if (!waiting) return false;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (message.type === 'state') waiting.resolve(message);
    else {
      const passed = PASSED_ON.has(message.code);
      const text = passed ? `trainer: ${message.message.replace(/^save failed: /, '')}` : `trainer could not save: ${message.code}: ${message.message}`;
      waiting.reject(new CkptError(passed ? message.code : 'PROTOCOL_TRAINER_ERROR', text, { details: { code: message.code, trainerCode: message.code } }));
    }
    return true;
  }

  /** Resolves when no request waits for a reply (each was answered, failed or timed out). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()].map((p) => p.settled));
  }

  /** Fail every waiting request and every later one (the trainer is gone). */
  rejectAll(error: Error): void {
    this.closedBy = error;
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
      this.pending.delete(id);
    }
  }
}
