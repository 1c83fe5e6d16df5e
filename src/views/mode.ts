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
 * Every monitored metric named in a normalized policy config, with its mode: `monitor: 'val_loss'` entries and
 * `monitors: [{ metric, mode }]` lists, at the top level or nested (early stopping, backups), first one first.
 * @example monitorsOfPolicy({ monitors: [{ metric: 'val_acc', mode: 'max' }] }) // [{ monitor: 'val_acc', mode: 'max' }]
 */
export function monitorsOfPolicy(policy: unknown): { monitor: string; mode: 'min' | 'max' }[] {
  const found: { monitor: string; mode: 'min' | 'max' }[] = [];
  const add = (monitor: unknown, mode: unknown) => {
    if (typeof monitor === 'string' && monitor && !found.some((f) => f.monitor === monitor)) found.push({ monitor, mode: autoMetricMode(monitor, mode) });
  };
  const visit = (node: unknown, depth: number, inMonitorList: boolean) => {
    if (!node || typeof node !== 'object' || depth > 3) return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1, inMonitorList);
      return;
    }
    const record = node as Record<string, unknown>;
    add(record.monitor, record.mode);
    if (inMonitorList) add(record.metric, record.mode);
    for (const [key, value] of Object.entries(record)) if (value && typeof value === 'object') visit(value, depth + 1, key === 'monitors');
  };
  visit(policy, 0, false);
  return found;
}
