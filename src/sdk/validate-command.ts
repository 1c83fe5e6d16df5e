/**
 * Field checks for supervisor commands, run by the TypeScript SDK before it acts on one: a malformed command
 * gets `error PROTOCOL_BAD_MESSAGE` (with its requestId) and the trainer keeps serving.
 *
 * @example validateCommand({ type: 'release', epoch: 1, step: 94 }) // undefined: well-formed
 */
import type { CheckpointState } from '../checkpoint.js';
import type { SupervisorMessage, TrainConfig } from '../protocol/messages.js';

const isState = (s: unknown): boolean => typeof s === 'object' && s !== null && typeof (s as CheckpointState).objects === 'object' && typeof (s as CheckpointState).trainer === 'object';
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const optionalPositive = (v: unknown): boolean => v === undefined || v === null || (Number.isInteger(v) && (v as number) >= 1);

/** A one-line problem with a command's fields, or undefined when it is well-formed. */
export function validateCommand(m: SupervisorMessage): string | undefined {
  switch (m.type) {
    case 'start': {
      const c = m.config as Partial<TrainConfig> | undefined;
      if (typeof c !== 'object' || c === null) return 'start.config must be a map';
      if (typeof m.seed !== 'number' || !Number.isFinite(m.seed)) return 'start.seed must be a number';
      if (c.epochs !== undefined && (!Number.isInteger(c.epochs) || c.epochs < 0)) return 'start.config.epochs must be a non-negative integer';
      if (c.batchSize !== undefined && (!Number.isInteger(c.batchSize) || c.batchSize < 1)) return 'start.config.batchSize must be a positive integer';
      if (!optionalPositive(c.maxHeld)) return 'start.config.maxHeld must be a positive integer';
      if (!optionalPositive(c.keepEpochStates)) return 'start.config.keepEpochStates must be a positive integer';
      if (m.state !== undefined && m.state !== null && !isState(m.state)) return 'start.state must be a checkpoint state {objects, trainer, history}';
      return undefined;
    }
    case 'save':
      if (typeof m.requestId !== 'string') return 'save.requestId must be a string';
      if (m.at !== undefined && m.at !== 'epoch' && m.at !== 'now') return 'save.at must be "epoch" or "now"';
      if (m.epoch !== undefined && m.epoch !== null && !isCount(m.epoch)) return 'save.epoch must be a non-negative integer';
      if (m.step !== undefined && m.step !== null && !isCount(m.step)) return 'save.step must be a non-negative integer';
      return undefined;
    case 'release':
      return isCount(m.epoch) && isCount(m.step) ? undefined : 'release.epoch and release.step must be non-negative integers';
    case 'restore':
      return isState(m.state) ? undefined : 'restore.state must be a checkpoint state {objects, trainer, history}';
    case 'eval':
      if (typeof m.requestId !== 'string') return 'eval.requestId must be a string';
      if (!isState(m.state)) return 'eval.state must be a checkpoint state {objects, trainer, history}';
      return ['test', 'validation', 'train'].includes(m.split) ? undefined : 'eval.split must be test, validation or train';
    default:
      return undefined;
  }
}
