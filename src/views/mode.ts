/**
 * Which direction is "better" for a metric, and which metrics a policy monitors. The views use the catalog's
 * rules (src/projections/catalog.ts), so `ckpt why best:m` and `ckpt export best:m` always rank alike.
 */
import { inferMode, isBetter, monitorsOf } from '../projections/catalog.js';

/**
 * An explicit 'min' / 'max' wins; otherwise the Keras `mode: 'auto'` rule (accuracy-like names are maximised).
 * @example autoMetricMode('val_acc') // 'max'
 * @example autoMetricMode('val_loss') // 'min'
 */
export function autoMetricMode(metric: string, mode?: unknown): 'min' | 'max' {
  return mode === 'min' || mode === 'max' ? mode : inferMode(metric);
}

/** True when `a` is strictly better than `b` for the given mode. */
export const betterThan: (a: number, b: number, mode: 'min' | 'max') => boolean = isBetter;

/**
 * Every monitored metric named in a policy config, with its mode, first one first.
 * @example monitorsOfPolicy({ monitors: [{ metric: 'val_acc', mode: 'max' }] }) // [{ monitor: 'val_acc', mode: 'max' }]
 */
export function monitorsOfPolicy(policy: unknown): { monitor: string; mode: 'min' | 'max' }[] {
  return monitorsOf(policy);
}
