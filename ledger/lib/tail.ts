import { Observable, type Subject } from 'rxjs';
import type { LedgerEvent, TailItem } from '../types.js';

/** What `tailLedger` needs from the ledger core. */
export interface TailSource {
  /** Every committed event, in seq order, emitted synchronously right after its batch is written. */
  live: Subject<LedgerEvent>;
  /** The committed lastSeq. */
  lastSeq(): number;
  /** Stored events with fromSeq <= seq <= toSeq, in order. */
  readRange(fromSeq: number, toSeq: number): AsyncIterable<LedgerEvent>;
  closed(): boolean;
}

/**
 * Replay + caught-up marker + live, with no gap and no duplicate even while appends race with the replay:
 * it subscribes to live events *before* reading lastSeq, buffers them during the replay, then drains the
 * buffer skipping every seq the replay already emitted. Completes when the ledger closes.
 * @example tailLedger(source, 1).subscribe((item) => item.kind === 'event' && console.log(item.event.seq))
 */
export function tailLedger(source: TailSource, fromSeq: number): Observable<TailItem> {
  return new Observable<TailItem>((subscriber) => {
    let buffered: LedgerEvent[] | null = [];
    let liveEnded = false;
    let lastEmitted = fromSeq - 1;
    const emit = (event: LedgerEvent): void => {
      if (event.seq <= lastEmitted) return;
      lastEmitted = event.seq;
      subscriber.next({ kind: 'event', event });
    };
    const liveSubscription = source.live.subscribe({
      next: (event) => (buffered === null ? emit(event) : buffered.push(event)),
      complete: () => {
        liveEnded = true;
        if (buffered === null) subscriber.complete();
      },
    });
    const replayEnd = source.lastSeq();
    const replay = async (): Promise<void> => {
      for await (const event of source.readRange(fromSeq, replayEnd)) {
        if (subscriber.closed) return;
        emit(event);
      }
      lastEmitted = Math.max(lastEmitted, replayEnd);
      subscriber.next({ kind: 'caught-up', seq: replayEnd });
      const pending = buffered ?? [];
      buffered = null;
      for (const event of pending) emit(event);
      if (liveEnded) subscriber.complete();
    };
    replay().catch((error: unknown) => {
      // A ledger closed under a running replay ends the tail quietly, like a close after catch-up does.
      if (source.closed()) subscriber.complete();
      else subscriber.error(error);
    });
    return () => liveSubscription.unsubscribe();
  });
}
