/**
 * The ledger event a trainer's progress or log frame is recorded as (pure). Lines are capped at 4 KiB.
 *
 * @example trainerEvent('run-1', { type: 'epoch_end', epoch: 1, step: 10, metrics: { loss: 0.5 }, ms: 80 }).type // 'EpochEnded'
 */
import type { EventInput } from '../../ledger/types.js';
import type { TrainerMessage } from '../protocol/messages.js';

export type RecordedFrame = Extract<TrainerMessage, { type: 'batch_end' | 'epoch_end' | 'log' | 'error' }>;

export function trainerEvent(run: string, message: RecordedFrame): EventInput {
  switch (message.type) {
    case 'batch_end':
      return { stream: run, type: 'BatchEnded', data: { run, epoch: message.epoch, batch: message.batch, step: message.step, metrics: message.metrics } };
    case 'epoch_end':
      return { stream: run, type: 'EpochEnded', data: { run, epoch: message.epoch, step: message.step, metrics: message.metrics, ms: message.ms } };
    case 'log': {
      const level = ['debug', 'info', 'warn', 'error'].includes(message.level) ? message.level : 'info';
      return { stream: run, type: 'TrainerLog', data: { run, source: 'log', level, line: message.message.slice(0, 4096) } };
    }
    case 'error':
      return { stream: run, type: 'TrainerLog', data: { run, source: 'log', level: 'error', line: `${message.code ?? 'ERROR'}: ${message.message}`.slice(0, 4096) } };
  }
}

/**
 * A line the trainer wrote on stderr, as recorded.
 * @example stderrEvent('run-1', 'Traceback (most recent call last):').type // 'TrainerLog'
 */
export function stderrEvent(run: string, line: string): EventInput {
  return { stream: run, type: 'TrainerLog', data: { run, source: 'stderr', level: 'info', line: line.slice(0, 4096) } };
}
