/**
 * Append events and get them back as stored (with seqs), so they can be fed to the policy in ledger order.
 * @example const [stored] = await appendAndRead(ledger, [{ stream: 'run-1', type: 'EpochEnded', data }], false)
 */
import { randomUUID } from 'node:crypto';
import type { EventInput, Ledger, LedgerEvent } from '../../ledger/types.js';

export async function appendAndRead(ledger: Ledger, events: EventInput[], durable: boolean): Promise<LedgerEvent[]> {
  if (events.length === 0) return [];
  const at = Date.now();
  const inputs = events.map((e) => ({ id: randomUUID(), v: 1, at, ...e }));
  const result = await ledger.append(inputs, { durable });
  return inputs.map((e, i) => ({ seq: result.seqs[i], id: e.id, stream: e.stream, type: e.type, v: e.v, at: e.at, data: e.data }));
}
