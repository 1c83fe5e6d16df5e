/**
 * Field checks for trainer messages: the frame decoder guarantees a map with a known `type`; this checks that
 * the fields the supervisor relies on have the right types, so a buggy trainer gives PROTOCOL_BAD_MESSAGE
 * instead of NaN epochs in the ledger.
 *
 * @example validateTrainerMessage({ type: 'epoch_end', epoch: 1, step: 10, metrics: { loss: 0.5 }, ms: 12 })
 */
import { CkptError } from '../errors.js';
import type { TrainerMessage } from '../protocol/messages.js';

type Check = 'int' | 'number' | 'string' | 'metrics' | 'object' | 'strings';

const REQUIRED: Record<string, Record<string, Check>> = {
  hello: { protocol: 'int', trainer: 'string' },
  epoch_end: { epoch: 'int', step: 'int', metrics: 'metrics' },
  batch_end: { epoch: 'int', batch: 'int', step: 'int', metrics: 'metrics' },
  state: { requestId: 'string', state: 'object' },
  eval_result: { requestId: 'string', metrics: 'metrics' },
  log: { message: 'string' },
  done: { epoch: 'int', step: 'int' },
  error: { message: 'string' },
};

function ok(value: unknown, check: Check): boolean {
  switch (check) {
    case 'int': return Number.isInteger(value) && (value as number) >= 0;
    case 'number': return typeof value === 'number';
    case 'string': return typeof value === 'string';
    case 'object': return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'strings': return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'metrics':
      return value !== null && typeof value === 'object' && !Array.isArray(value)
        && Object.values(value as object).every((v) => typeof v === 'number' || v === null);
  }
}

/** Return the message typed, or throw PROTOCOL_BAD_MESSAGE naming the first bad field. */
export function validateTrainerMessage(raw: { type: string } & Record<string, unknown>): TrainerMessage {
  const fields = REQUIRED[raw.type] ?? {};
  for (const [field, check] of Object.entries(fields)) {
    if (!ok(raw[field], check)) {
      const got = raw[field] === null ? 'null' : Array.isArray(raw[field]) ? 'array' : typeof raw[field];
      throw new CkptError('PROTOCOL_BAD_MESSAGE', `trainer sent "${raw.type}" with a bad "${field}" (expected ${check}, got ${got}); see docs/protocol.md`, { details: { type: raw.type, field } });
    }
  }
  if (raw.type === 'state') {
    const state = raw.state as Record<string, unknown>;
    if (!ok(state.objects, 'object') || !ok(state.trainer, 'object')) {
      throw new CkptError('PROTOCOL_BAD_MESSAGE', 'trainer sent "state" without `objects` and `trainer` maps; see docs/protocol.md', { details: { type: 'state' } });
    }
    if (!Array.isArray(state.history)) state.history = [];
  }
  if (raw.type === 'hello') checkHello(raw);
  if (raw.type === 'epoch_end' && typeof raw.ms !== 'number') raw.ms = 0;
  return raw as unknown as TrainerMessage;
}

/** hello's optional fields: `capabilities` (absent reads as []) and `batchesPerEpoch` (a positive integer). */
function checkHello(raw: Record<string, unknown>): void {
  if (raw.capabilities === undefined || raw.capabilities === null) raw.capabilities = [];
  if (!ok(raw.capabilities, 'strings')) {
    throw new CkptError('PROTOCOL_BAD_MESSAGE', 'trainer sent "hello" with a bad "capabilities" (expected an array of strings); see docs/protocol.md', { details: { type: 'hello', field: 'capabilities' } });
  }
  if (raw.batchesPerEpoch !== undefined && raw.batchesPerEpoch !== null && !(Number.isInteger(raw.batchesPerEpoch) && (raw.batchesPerEpoch as number) >= 1)) {
    throw new CkptError('PROTOCOL_BAD_MESSAGE', 'trainer sent "hello" with a bad "batchesPerEpoch" (expected a positive integer); see docs/protocol.md', { details: { type: 'hello', field: 'batchesPerEpoch' } });
  }
  if (raw.batchesPerEpoch === null) delete raw.batchesPerEpoch;
}
