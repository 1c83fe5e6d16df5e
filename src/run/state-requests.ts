/**
 * Outstanding `save` requests to a trainer, matched to their `state` replies by requestId. A reply that
 * nobody waits for is not consumed (the caller treats it as unexpected).
 *
 * @example
 *   const requests = new StateRequests(trainer, 60_000);
 *   const reply = await requests.request(); // sends {type:'save', requestId}
 */
import { randomUUID } from 'node:crypto';
import { CkptError } from '../errors.js';
import type { StateReply, TrainerMessage } from '../protocol/messages.js';
import type { TrainerProcess } from './trainer-process.js';

interface Pending { resolve(reply: StateReply): void; reject(error: Error): void; timer: NodeJS.Timeout }

export class StateRequests {
  private readonly pending = new Map<string, Pending>();
  private closedBy: Error | null = null;

  constructor(private readonly trainer: Pick<TrainerProcess, 'send'>, private readonly timeoutMs: number) {}

  /**
   * Send `save` and resolve with the trainer's `state` reply: the state as of epoch `epoch`'s end (default: the
   * latest epoch end), or with `at: 'now'` the current position.
   */
  request(options: { at?: 'epoch' | 'now'; epoch?: number; step?: number } = {}): Promise<StateReply> {
    const at = options.at ?? 'epoch';
    const requestId = randomUUID();
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise<StateReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new CkptError('PROTOCOL_TIMEOUT', `trainer did not reply to save within ${this.timeoutMs} ms; it must answer save with state between batches`));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.trainer.send({ type: 'save', requestId, ...(at === 'now' ? { at } : {}), ...(at === 'epoch' && options.epoch !== undefined ? { epoch: options.epoch } : {}), ...(at === 'epoch' && options.step !== undefined ? { step: options.step } : {}) });
    });
  }

  /**
   * Let the trainer drop every held state at or before `position` (hold/release contract; the protocol helper
   * implements the frame). Stub until then: a no-op.
   * @example requests.release({ epoch: 3, step: 300 })
   */
  release(position: { epoch: number; step: number }): void {
    void position;
  }

  /** Route a trainer message to its waiting request; true when it was consumed. */
  offer(message: TrainerMessage): boolean {
    if (message.type !== 'state' && !(message.type === 'error' && message.requestId)) return false;
    const id = message.requestId as string;
    const waiting = this.pending.get(id);
    if (!waiting) return false;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (message.type === 'state') waiting.resolve(message);
    else waiting.reject(new CkptError('PROTOCOL_TRAINER_ERROR', `trainer could not save: ${message.code}: ${message.message}`, { details: { code: message.code, trainerCode: message.code } }));
    return true;
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
