import { LedgerError } from '../errors.js';
import type { AppendOptions, EventInput } from '../types.js';

/**
 * Rejects malformed appends before they are queued, with a message that names the bad event.
 * @example validateAppend([{ stream: 'run-1', type: 'EpochEnded', data: {} }], {}) // ok
 */
export function validateAppend(events: readonly EventInput[], options: AppendOptions): void {
  if (!Array.isArray(events)) invalid('append() takes an array of events; wrap a single event in [ ]', {});
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    if (event === null || typeof event !== 'object') invalid(`event #${index} is not an object`, { index });
    const { stream, type, id, v, at } = event;
    if (typeof stream !== 'string' || stream === '') invalid(`event #${index} needs a non-empty string stream`, { index });
    if (typeof type !== 'string' || type === '') invalid(`event #${index} needs a non-empty string type`, { index });
    if (id !== undefined && (typeof id !== 'string' || id === '')) invalid(`event #${index} id must be a non-empty string`, { index });
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) invalid(`event #${index} v must be an integer >= 1`, { index });
    if (at !== undefined && !Number.isFinite(at)) invalid(`event #${index} at must be epoch milliseconds`, { index });
  }
  const { expectedSeq } = options;
  if (expectedSeq !== undefined && !(Number.isSafeInteger(expectedSeq) && expectedSeq >= 0)) {
    invalid('expectedSeq must be an integer >= 0 (the lastSeq you expect before this batch)', { expectedSeq });
  }
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new LedgerError('LEDGER_INVALID', `${message}; fix the append call`, { details });
}
