/**
 * Keras-style filepath templates: `model_{epoch:02d}_{val_loss:.4f}` → `model_03_0.2981`.
 * Supports the subset of Python's format-spec mini-language that checkpoint names use:
 * `{name}`, `{name:[0][width][.precision][d|f|e|g|%|s]}` and `{{` / `}}` for literal braces.
 */
import { CkptError } from '../../errors.js';

const FIELD = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}/g;
const SPEC = /^(0)?(\d+)?(?:\.(\d+))?([dfeEgGs%])?$/;

/**
 * Render a Keras filepath template. `values` holds `epoch` (1-based, as Keras prints it), `batch` and the
 * epoch's metrics. An unknown field throws `CALLBACK_FILEPATH` naming the fields that exist.
 *
 * @example renderFilepath('model_{epoch:02d}_{val_loss:.4f}', { epoch: 3, val_loss: 0.29811 }) // 'model_03_0.2981'
 */
export function renderFilepath(template: string, values: Record<string, number | string>): string {
  return template.replace(FIELD, (whole: string, name: string | undefined, spec: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    if (!name || !(name in values)) {
      throw new CkptError(
        'CALLBACK_FILEPATH',
        `filepath template field {${name}} is not in the logs; use one of: ${Object.keys(values).join(', ')}`,
        { details: { template, field: name, available: Object.keys(values) } },
      );
    }
    return formatValue(values[name], spec ?? '', template);
  });
}

/**
 * Format one value with a Python format spec such as `02d`, `.4f`, `8.3e`.
 *
 * @example formatValue(3, '02d', 'x') // '03'
 */
export function formatValue(value: number | string, spec: string, template = spec): string {
  const m = SPEC.exec(spec);
  if (!m) {
    throw new CkptError('CALLBACK_FILEPATH', `format spec ":${spec}" in "${template}" is not supported; use forms like :02d, :.4f, :.3e`);
  }
  const [, zero, widthText, precisionText, type] = m;
  const width = widthText ? Number(widthText) : 0;
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  let text: string;
  if (typeof value === 'string' || type === 's') text = String(value);
  else if (!Number.isFinite(value)) text = Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  else if (type === 'd') text = String(Math.trunc(value));
  else if (type === 'f') text = value.toFixed(precision ?? 6);
  else if (type === '%') text = (value * 100).toFixed(precision ?? 6) + '%';
  else if (type === 'e' || type === 'E') text = pythonExponent(value.toExponential(precision ?? 6), type === 'E');
  else if (type === 'g' || type === 'G') text = String(Number(value.toPrecision(precision || 6)));
  else text = precision === undefined ? String(value) : String(Number(value.toPrecision(precision || 1)));
  if (text.length >= width) return text;
  if (zero && typeof value === 'number' && Number.isFinite(value)) {
    const sign = text.startsWith('-') ? '-' : '';
    return sign + text.slice(sign.length).padStart(width - sign.length, '0');
  }
  return typeof value === 'string' ? text.padEnd(width, ' ') : text.padStart(width, ' ');
}

/** JS writes `1.5e-3`, Python `1.5e-03`: exponents have at least two digits. */
function pythonExponent(text: string, upper: boolean): string {
  const out = text.replace(/e([+-])(\d)$/, 'e$10$2');
  return upper ? out.toUpperCase() : out;
}
