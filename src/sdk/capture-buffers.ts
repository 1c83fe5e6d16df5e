/**
 * Buffers for `capture` to copy a state into, reused once no one holds that state any more: a big model's
 * capture then writes into memory the process already touched instead of asking the OS for W fresh bytes per
 * save (PyTorch DCP's `BlockingAsyncStager(cache_staged_state_dict=True)` keeps its staged copy for the next
 * `async_save` the same way).
 *
 * Only buffers this pool handed out are ever reused, and only after a sweep found their state unreferenced: not
 * the latest state, not held for a save, not lent to the stage writer, not being answered. They are shared
 * (SharedArrayBuffer): the stage writer's worker thread reads them without a transfer, so they stay the same
 * objects the pool knows.
 *
 * @example
 *   const pool = new CaptureBuffers();
 *   const state = await handlers.capture((n) => pool.take(n)); // the trainer copies into them
 *   pool.track(state);
 *   pool.sweep((s) => live.has(s)); // buffers of states no one holds come back for the next capture
 */
import type { CheckpointState } from '../checkpoint.js';
import { allTensors } from '../protocol/staged.js';

export class CaptureBuffers {
  /** Free buffers by byte length. */
  private readonly free = new Map<number, Uint8Array[]>();
  /** Every buffer this pool made (only those are ever reused). */
  private readonly ours = new WeakSet<ArrayBufferLike>();
  /** Buffers in `free` (a buffer two states share is freed once). */
  private readonly isFree = new WeakSet<ArrayBufferLike>();
  /** Captured states not yet swept. */
  private readonly states = new Set<CheckpointState>();

  /**
   * A buffer of exactly `byteLength` bytes for a capture to fill (every byte: a reused one holds an older state).
   * @example out = pool.take(w.byteLength); out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength))
   */
  take(byteLength: number): Uint8Array {
    const reused = this.free.get(byteLength)?.pop();
    if (reused) {
      this.isFree.delete(reused.buffer);
      return reused;
    }
    const made = new Uint8Array(new SharedArrayBuffer(byteLength));
    this.ours.add(made.buffer);
    return made;
  }

  /** A state `capture` returned: its pool buffers come back once a sweep finds it unreferenced. */
  track(state: CheckpointState): void {
    this.states.add(state);
  }

  /**
   * Free the pool buffers of every tracked state for which `live` is false (a buffer a live state also holds stays
   * taken).
   */
  sweep(live: (state: CheckpointState) => boolean): void {
    const dead = [...this.states].filter((state) => !live(state));
    if (dead.length === 0) return;
    for (const state of dead) this.states.delete(state);
    const kept = new Set<ArrayBufferLike>();
    for (const state of this.states) for (const t of allTensors(state)) kept.add(t.data.buffer);
    for (const state of dead) {
      for (const t of allTensors(state)) {
        const { buffer, byteOffset, byteLength } = t.data;
        if (!this.ours.has(buffer) || kept.has(buffer) || this.isFree.has(buffer) || byteOffset !== 0 || byteLength !== buffer.byteLength) continue;
        this.isFree.add(buffer);
        const list = this.free.get(byteLength);
        if (list) list.push(t.data);
        else this.free.set(byteLength, [t.data]);
      }
    }
  }
}
