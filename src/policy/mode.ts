/** Monitor modes (min / max / auto), improvement tests and the Keras-voice number format. */
import { CkptError } from '../errors.js';
import type { PolicyMode } from './types.js';

const MIN_SUFFIXES = ['loss', 'error', 'mse', 'mae'];
const MAX_SUFFIXES = ['accuracy', 'acc', 'auc', 'precision', 'recall', 'f1'];

/**
 * Resolve a monitor's mode. `auto`: names ending in loss/error/mse/mae → min; acc/accuracy/auc/precision/recall/f1
 * → max; anything else throws POLICY_MODE_UNKNOWN asking for an explicit mode.
 * @example resolveMode('val_loss', 'auto') // 'min'
 */
export function resolveMode(metric: string, mode: string = 'auto'): PolicyMode {
  if (mode === 'min' || mode === 'max') return mode;
  if (mode !== 'auto') {
    throw new CkptError('POLICY_INVALID', `policy mode for ${metric} must be one of min, max, auto (got ${JSON.stringify(mode)})`, {
      details: { field: 'mode', allowed: ['min', 'max', 'auto'], got: mode },
    });
  }
  const name = metric.toLowerCase();
  if (MIN_SUFFIXES.some((s) => name.endsWith(s))) return 'min';
  if (MAX_SUFFIXES.some((s) => name.endsWith(s))) return 'max';
  throw new CkptError('POLICY_MODE_UNKNOWN', `cannot tell whether ${metric} should go down or up; set mode to "min" or "max"`, {
    details: { metric, allowed: ['min', 'max'] },
  });
}

/**
 * True when `value` beats `reference` by more than `minDelta` (Keras `monitor_op(value - min_delta, ref)`).
 * A null reference (nothing seen yet) is always beaten by a finite value; NaN/±Infinity never improve.
 * @example isImprovement(0.29, 0.31, 'min', 0.01) // true
 */
export function isImprovement(value: number, reference: number | null, mode: PolicyMode, minDelta: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (reference === null) return true;
  return mode === 'min' ? value < reference - minDelta : value > reference + minDelta;
}

/** True when `a` ranks before `b` (strictly better). */
export function isBetter(a: number, b: number, mode: PolicyMode): boolean {
  return mode === 'min' ? a < b : a > b;
}

/**
 * Four decimals, Keras-style `inf` / `-inf` / `nan` for the rest.
 * @example formatValue(0.29812) // '0.2981'
 */
export function formatValue(value: number | null, mode: PolicyMode = 'min'): string {
  if (value === null) return mode === 'min' ? 'inf' : '-inf';
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return toFixed4(value);
}

/**
 * Exactly `value.toFixed(4)`, about twice as fast for |value| < 1e5 (formatted on every commit). There
 * `value * 1e4` is off by at most 6e-8 from the exact product, so rounding it agrees with toFixed's exact
 * rounding unless the product lies within 1e-6 of a half, which falls back to toFixed (as do larger values).
 */
function toFixed4(value: number): string {
  if (value > -1e5 && value < 1e5) {
    const neg = value < 0;
    const scaled = (neg ? -value : value) * 10000;
    const n = Math.round(scaled);
    const d = scaled - n;
    if (d < 0.499999 && d > -0.499999) {
      const whole = Math.floor(n / 10000);
      const f = n - whole * 10000;
      const frac = f < 10 ? '000' + f : f < 100 ? '00' + f : f < 1000 ? '0' + f : '' + f;
      return (neg ? '-' : '') + whole + '.' + frac;
    }
  }
  return value.toFixed(4);
}

/**
 * The direction of a metric when it can be told, never throwing: an explicit 'min' / 'max' wins, otherwise the
 * `auto` rule of resolveMode; undefined for a name it cannot classify (or an invalid mode). The read model ranks
 * with this, so a metric the policy would refuse under `auto` is never ranked by a guess.
 * @example knownMode('val_acc') // 'max'
 * @example knownMode('throughput') // undefined
 */
export function knownMode(metric: string, mode?: string): 'min' | 'max' | undefined {
  try {
    return resolveMode(metric, mode ?? 'auto');
  } catch {
    return undefined;
  }
}
