/**
 * The three regimes of the seed documents, as partial configurations that `parsePolicyConfig` completes.
 * A config may name one (`{ preset: 'long', keepLast: 5 }`) and override any field.
 *
 * | preset | saves                                  | keeps                                  |
 * |--------|----------------------------------------|----------------------------------------|
 * | short  | on improvement of val_loss             | the best one                           |
 * | normal | every epoch, a `last` one at the end   | top 3 by val_loss + last 2             |
 * | long   | every 5 epochs + every 30 min, `last`  | top 5 + last 3 + one every 6 hours     |
 */
import type { PresetName } from './types.js';

export const presets: Readonly<Record<PresetName, Readonly<Record<string, unknown>>>> = {
  short: { monitor: 'val_loss', saveBestOnly: true, everyNEpochs: 1, keepTopK: 1, saveLast: false },
  normal: { monitor: 'val_loss', everyNEpochs: 1, keepTopK: 3, keepLast: 2, saveLast: true },
  long: {
    monitor: 'val_loss',
    everyNEpochs: 5,
    everyNSeconds: 1800,
    keepTopK: 5,
    keepLast: 3,
    keepEveryNHours: 6,
    saveLast: true,
  },
};

export const PRESET_NAMES = Object.keys(presets) as PresetName[];

/** True for a preset name. @example isPresetName('normal') // true */
export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(presets, name);
}
