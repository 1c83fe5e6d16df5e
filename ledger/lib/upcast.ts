import { LedgerError } from '../errors.js';
import type { LedgerEvent, Upcaster } from '../types.js';

/** Lifts an event read from storage to the current version of its type. */
export type UpcastEvent = (event: LedgerEvent) => LedgerEvent;

/**
 * Builds the function that applies every registered upcaster in a chain (v1 → v2 → v3 ...) on read.
 * History on disk is never rewritten; events without an upcaster for their (type, v) pass through untouched.
 * @example
 *   const upcast = upcasterChain([{ type: 'Saved', from: 1, upcast: (d: any) => ({ ...d, tags: [] }) }])
 *   upcast({ seq: 1, id: 'a', stream: 's', type: 'Saved', v: 1, at: 0, data: {} }).v // 2
 */
export function upcasterChain(upcasters: readonly Upcaster[] = []): UpcastEvent {
  if (upcasters.length === 0) return (event) => event;
  const byTypeAndVersion = new Map<string, Map<number, Upcaster>>();
  for (const upcaster of upcasters) {
    if (typeof upcaster.type !== 'string' || !Number.isInteger(upcaster.from) || typeof upcaster.upcast !== 'function') {
      throw new LedgerError('LEDGER_INVALID', 'an upcaster needs {type: string, from: integer, upcast(data)}; fix the upcasters option', {
        details: { type: upcaster.type, from: upcaster.from },
      });
    }
    const versions = byTypeAndVersion.get(upcaster.type) ?? new Map<number, Upcaster>();
    if (versions.has(upcaster.from)) {
      throw new LedgerError('LEDGER_INVALID', `two upcasters lift ${upcaster.type} from v${upcaster.from}; keep one`, {
        details: { type: upcaster.type, from: upcaster.from },
      });
    }
    versions.set(upcaster.from, upcaster);
    byTypeAndVersion.set(upcaster.type, versions);
  }
  return (event) => {
    const versions = byTypeAndVersion.get(event.type);
    let upcaster = versions?.get(event.v);
    if (upcaster === undefined) return event;
    let { data, v } = event;
    while (upcaster !== undefined) {
      try {
        data = upcaster.upcast(data);
      } catch (cause) {
        throw new LedgerError('LEDGER_INVALID', `upcaster for ${event.type} v${v} failed on seq ${event.seq}; fix the upcaster`, {
          cause,
          details: { seq: event.seq, type: event.type, v },
        });
      }
      v += 1;
      upcaster = versions!.get(v);
    }
    return { ...event, v, data };
  };
}
