/** Monitor modes (min / max / auto), improvement tests and the Keras-voice number format. */
import { CkptError } from '../errors.js';
import { DOWN_NAMES, DOWN_SUFFIXES, UP_NAMES, UP_SUFFIXES } from './metric-names.js';
import type { PolicyMode } from './types.js';

const DOWN = new Set(DOWN_NAMES);
const UP = new Set(UP_NAMES);

/**
 * The direction a metric name implies, or undefined when the name does not say. The name is lower-cased and
 * stripped of a `val_` / `train_` / `test_` prefix (Keras removes `val_`; Lightning logs `val/…` and `…_epoch`),
 * then looked up in the Keras tables, then judged by its ending.
 * @example directionOf('val_f1_score') // 'max'
 */
function directionOf(metric: string): PolicyMode | undefined {
  let name = metric.toLowerCase();
  const slash = name.lastIndexOf('/');
  if (slash >= 0) name = name.slice(slash + 1);
  for (const prefix of ['val_', 'validation_', 'train_', 'test_', 'eval_']) if (name.startsWith(prefix)) { name = name.slice(prefix.length); break; }
  for (const suffix of ['_epoch', '_step']) if (name.endsWith(suffix) && name.length > suffix.length) { name = name.slice(0, -suffix.length); break; }
  if (DOWN.has(name)) return 'min';
  if (UP.has(name)) return 'max';
  if (DOWN_SUFFIXES.some((s) => name.endsWith(s))) return 'min';
  if (UP_SUFFIXES.some((s) => name.endsWith(s))) return 'max';
  return undefined;
}

/**
 * Resolve a monitor's mode. `auto` infers it from the name (Keras' metric directions, see metric-names.ts);
 * a name that does not say throws POLICY_MODE_UNKNOWN asking for an explicit mode.
 * @example resolveMode('val_loss', 'auto') // 'min'
 */
export function resolveMode(metric: string, mode: string = 'auto'): PolicyMode {
  if (mode === 'min' || mode === 'max') return mode;
  if (mode !== 'auto') {
    throw new CkptError('POLICY_INVALID', `policy mode for ${metric} must be one of min, max, auto (got ${JSON.stringify(mode)})`, {
      details: { field: 'mode', allowed: ['min', 'max', 'auto'], got: mode },
    });
  }
  const known = directionOf(metric);
  if (known) return known;
  throw new CkptError('POLICY_MODE_UNKNOWN', `cannot tell whether ${metric} should go down or up; set mode to "min" or "max"`, {
    details: { metric, allowed: ['min', 'max'] },
  });
}

/**
 * The direction of a metric for readers that must not throw (the read model ranking `best:<metric>`): an
 * explicit `min`/`max` wins; otherwise (auto, absent or anything else) the name decides, or undefined.
 * @example knownMode('val_accuracy') // 'max'; knownMode('throughput') // undefined; knownMode('x', 'min') // 'min'
 */
export function knownMode(metric: string, mode?: string): PolicyMode | undefined {
  if (mode === 'min' || mode === 'max') return mode;
  return typeof metric === 'string' ? directionOf(metric) : undefined;
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
 * Four decimals (Keras' voice), two significant digits below 0.00005, `inf` / `-inf` / `nan` for the rest.
 * @example formatValue(0.29812) // '0.2981'; formatValue(0.000012) // '0.000012'
 */
export function formatValue(value: number | null, mode: PolicyMode = 'min'): string {
  if (value === null) return mode === 'min' ? 'inf' : '-inf';
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  // Below 0.00005 four decimals print 0.0000: show two significant digits instead (0.000012).
  if (value < 0.00005 && value > -0.00005 && value !== 0) return significant(value);
  return toFixed4(value);
}

/** Two significant digits without trailing zeros: 0.0000090 → '0.000009'. */
function significant(value: number): string {
  const text = value.toPrecision(2);
  return text.includes('e') || !text.includes('.') ? text : text.replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * `from` and `to` (formatValue of `a` and `b`), widened with more decimals when they print the same although the
 * values differ, so that a reason shows the change: 0.31204 → 0.31201 prints `0.31204` and `0.31201`, not
 * `0.3120` twice. Only runs on that rare tie, so the common path formats nothing new.
 * @example showChange(0.31204, 0.31201, '0.3120', '0.3120') // ['0.31204', '0.31201']
 */
export function showChange(a: number | null, b: number, from: string, to: string): [string, string] {
  if (from !== to || a === null || !Number.isFinite(a) || !Number.isFinite(b) || a === b) return [from, to];
  for (let digits = 5; digits <= 20; digits++) {
    const x = a.toFixed(digits);
    const y = b.toFixed(digits);
    if (x !== y) return [trimZeros(x), trimZeros(y)];
  }
  return [String(a), String(b)];
}

/** '0.312040' → '0.31204' (keeps four decimals at least). */
function trimZeros(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 48 && end - text.indexOf('.') > 5) end--;
  return text.slice(0, end);
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
