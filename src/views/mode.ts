/**
 * Which direction is "better" for a metric. Follows the Keras `mode: 'auto'` rule: accuracy-like names are
 * maximised, everything else (losses, errors) minimised. An explicit 'min' / 'max' wins.
 *
 * @example autoMetricMode('val_acc') // 'max'
 * @example autoMetricMode('val_loss') // 'min'
 */
export function autoMetricMode(metric: string, mode?: unknown): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  return /(acc|accuracy|auc|f1|precision|recall|iou|map|score|r2|psnr|ssim)$/i.test(metric) ? 'max' : 'min';
}

/** True when `a` is strictly better than `b` for the given mode. */
export function betterThan(a: number, b: number, mode: 'min' | 'max'): boolean {
  return mode === 'min' ? a < b : a > b;
}

/**
 * Every `{monitor, mode}` pair named in a normalized policy config (top level or one level down, e.g.
 * `{ save: { monitor: 'val_loss', mode: 'min' } }`), so views know which metrics define "best".
 * @example monitorsOfPolicy({ monitor: 'val_acc' }) // [{ monitor: 'val_acc', mode: 'max' }]
 */
export function monitorsOfPolicy(policy: unknown): { monitor: string; mode: 'min' | 'max' }[] {
  const found: { monitor: string; mode: 'min' | 'max' }[] = [];
  const visit = (node: unknown, depth: number) => {
    if (!node || typeof node !== 'object' || depth > 2) return;
    const record = node as Record<string, unknown>;
    if (typeof record.monitor === 'string' && record.monitor) {
      found.push({ monitor: record.monitor, mode: autoMetricMode(record.monitor, record.mode) });
    }
    for (const value of Object.values(record)) if (value && typeof value === 'object' && !Array.isArray(value)) visit(value, depth + 1);
  };
  visit(policy, 0);
  return found;
}
