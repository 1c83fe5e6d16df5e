/**
 * Each callback describes what it wants in src/policy's own vocabulary (a `PolicyPart`); the callbacks writing to
 * one directory share one run and so one policy, whose input is the merge of their parts. The merged input goes
 * through `parsePolicyConfig`, so the run's policy is validated and recorded exactly like a supervisor run's.
 */
import { CkptError } from '../../errors.js';
import type { CallbackKind } from './participant.js';

export interface MonitorPart { metric: string; mode: string; initialValueThreshold?: number | null; minDelta?: number }

export interface EarlyStoppingPart {
  monitor: string;
  mode: string;
  patience: number;
  minDelta: number;
  baseline: number | null;
  startFromEpoch: number;
  restoreBestWeights: boolean;
}

/** One callback's slice of a policy. `saves: false` marks a callback that decides no saves of its own. */
export interface PolicyPart {
  source: CallbackKind;
  monitors: MonitorPart[];
  saves: boolean;
  saveBestOnly?: boolean;
  everyNEpochs?: number | null;
  everyNSteps?: number | null;
  /** Retention; both undefined means "keep every checkpoint this callback saves" (Keras with `{epoch}` names). */
  keepTopK?: number | null;
  keepLast?: number | null;
  saveLast?: boolean;
  earlyStopping?: EarlyStoppingPart;
}

const minOf = (values: Array<number | null | undefined>): number | null => {
  const present = values.filter((v): v is number => typeof v === 'number');
  return present.length ? Math.min(...present) : null;
};
const maxOf = (values: Array<number | null | undefined>): number | null => {
  const present = values.filter((v): v is number => typeof v === 'number');
  return present.length ? Math.max(...present) : null;
};

/**
 * Merge the parts of the callbacks on one directory into one policy input (canonical src/policy keys).
 * Triggers are unioned (the most frequent wins), retention is unioned (any callback that keeps everything
 * keeps everything), monitors are concatenated. Contradictions throw CALLBACK_CONFLICT saying how to split them.
 *
 * @example mergePolicyInputs([{ source: 'ModelCheckpoint', monitors: [{ metric: 'val_loss', mode: 'auto' }], saves: true, saveBestOnly: true, everyNEpochs: 1 }])
 *   // { monitors: [{ metric: 'val_loss', mode: 'auto' }], saveBestOnly: true, everyNEpochs: 1, everyNSteps: null, ... }
 */
export function mergePolicyInputs(parts: readonly PolicyPart[]): Record<string, unknown> {
  const savers = parts.filter((p) => p.saves);
  const bestOnly = savers.filter((p) => p.saveBestOnly);
  if (bestOnly.length > 0 && bestOnly.length < savers.length) {
    const others = savers.filter((p) => !p.saveBestOnly).map((p) => p.source);
    throw new CkptError('CALLBACK_CONFLICT',
      `${bestOnly[0].source}(saveBestOnly) and ${others.join(', ')} write to the same directory but want different saves; give each its own dir`,
      { details: { sources: parts.map((p) => p.source) } });
  }
  const stoppers = parts.filter((p) => p.earlyStopping);
  if (stoppers.length > 1) {
    throw new CkptError('CALLBACK_CONFLICT', 'two EarlyStopping callbacks write to the same directory; use one, or give each its own dir');
  }
  const monitors: MonitorPart[] = [];
  for (const part of parts) {
    for (const m of part.monitors) if (!monitors.some((x) => x.metric === m.metric)) monitors.push(m);
  }
  const keepsAll = savers.some((p) => p.keepTopK == null && p.keepLast == null);
  const input: Record<string, unknown> = {
    monitors: monitors.map((m) => ({ ...m })),
    saveBestOnly: bestOnly.length > 0,
    everyNEpochs: minOf(savers.map((p) => p.everyNEpochs)),
    everyNSteps: minOf(savers.map((p) => p.everyNSteps)),
    keepTopK: keepsAll ? null : maxOf(savers.map((p) => p.keepTopK)),
    keepLast: keepsAll ? null : maxOf(savers.map((p) => p.keepLast)),
    saveLast: parts.some((p) => p.saveLast),
  };
  if (input.saveBestOnly && input.everyNEpochs === null) input.everyNEpochs = 1;
  if (stoppers[0]?.earlyStopping) input.earlyStopping = { ...stoppers[0].earlyStopping };
  return input;
}
