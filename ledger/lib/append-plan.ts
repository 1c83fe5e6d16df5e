import type { EventInput, LedgerEvent } from '../types.js';
import { generatedId, generatedIdPrefix, isSelfLocating } from './ids.js';

/** What an append will write, decided before any byte is written. */
export interface AppendPlan {
  /** The seq of each input, in input order (the stored seq for a duplicate). */
  seqs: number[];
  /** The envelopes to store, with consecutive seqs after `lastSeq`. */
  fresh: LedgerEvent[];
  /** Per fresh event: does its id need an id-index entry? (Not for ledger-generated ids.) */
  indexIds: boolean[];
  duplicates: number;
}

/**
 * Assigns seqs, ids and defaults to a batch. `stored` maps the caller ids already in the ledger to their seq;
 * those inputs, and repeats of an id earlier in the same batch, are duplicates and are not written again.
 * @example planAppend([{ stream: 's', type: 't', data: 1 }], new Map(), 41, Date.now()).seqs // [42]
 */
export function planAppend(inputs: readonly EventInput[], stored: ReadonlyMap<string, number>, lastSeq: number, now: number): AppendPlan {
  const known = new Map(stored);
  const seqs: number[] = new Array(inputs.length);
  const fresh: LedgerEvent[] = [];
  const indexIds: boolean[] = [];
  const idPrefix = generatedIdPrefix();
  let duplicates = 0;
  let seq = lastSeq;
  for (let index = 0; index < inputs.length; index++) {
    const input = inputs[index];
    const storedSeq = input.id === undefined ? undefined : known.get(input.id);
    if (storedSeq !== undefined) {
      seqs[index] = storedSeq;
      duplicates++;
      continue;
    }
    seq += 1;
    const id = input.id ?? generatedId(idPrefix, seq);
    if (input.id !== undefined) known.set(id, seq);
    indexIds.push(input.id !== undefined && !isSelfLocating(id, seq));
    seqs[index] = seq;
    fresh.push({ seq, id, stream: input.stream, type: input.type, v: input.v ?? 1, at: input.at ?? now, data: input.data ?? null });
  }
  return { seqs, fresh, indexIds, duplicates };
}
