/**
 * The lines Keras prints with `verbose=1`, word for word, so logs read the same after porting a script.
 * Epochs here are 1-based (Keras prints `epoch + 1`). Numbers use Python's `.5f` (`inf` for the start value).
 */
import { formatValue } from './filepath.js';

const f5 = (x: number | null | undefined): string => formatValue(x ?? Infinity, '.5f');

/**
 * @example improvedMessage(3, 'val_loss', 0.312, 0.2981, 'model_03_0.2981')
 *   // 'Epoch 3: val_loss improved from 0.31200 to 0.29810, saving model to model_03_0.2981'
 */
export function improvedMessage(epoch: number, monitor: string, previous: number | null | undefined, current: number, path: string): string {
  return `Epoch ${epoch}: ${monitor} improved from ${f5(previous)} to ${f5(current)}, saving model to ${path}`;
}

/** @example notImprovedMessage(4, 'val_loss', 0.2981) // 'Epoch 4: val_loss did not improve from 0.29810' */
export function notImprovedMessage(epoch: number, monitor: string, best: number | null | undefined): string {
  return `Epoch ${epoch}: ${monitor} did not improve from ${f5(best)}`;
}

/** @example savingMessage(2, 'model_02') // 'Epoch 2: saving model to model_02' */
export function savingMessage(epoch: number, path: string): string {
  return `Epoch ${epoch}: saving model to ${path}`;
}

/** Keras 3 warns and saves. @example missingMonitorMessage('val_loss') // 'Can save best model only with val_loss available.' */
export function missingMonitorMessage(monitor: string): string {
  return `Can save best model only with ${monitor} available.`;
}

/** @example earlyStoppingMessage(7) // 'Epoch 7: early stopping' */
export function earlyStoppingMessage(epoch: number): string {
  return `Epoch ${epoch}: early stopping`;
}

/** @example restoringMessage(4) // 'Restoring model weights from the end of the best epoch: 4.' */
export function restoringMessage(bestEpoch: number): string {
  return `Restoring model weights from the end of the best epoch: ${bestEpoch}.`;
}

/** Keras TerminateOnNaN (0-based batch). @example terminatingMessage(11) // 'Batch 11: Invalid loss, terminating training' */
export function terminatingMessage(batch: number): string {
  return `Batch ${batch}: Invalid loss, terminating training`;
}
