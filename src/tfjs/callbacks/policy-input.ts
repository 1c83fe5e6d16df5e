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
  /** Save when this many seconds of event time passed since the last timed save (checked at each recorded batch). */
  everyNSeconds?: number | null;
  /** Retention; both undefined means "keep every checkpoint this callback saves" (Keras with `{epoch}` names). */
  keepTopK?: number | null;
  keepLast?: number | null;
  /** true: a `last` checkpoint when training ends; 'link': every save is labelled `last` (Lightning `save_last`). */
  saveLast?: boolean | 'link';
  /** Stop when `loss` is NaN or ±Infinity (Keras TerminateOnNaN). */
  terminateOnNaN?: boolean;
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
  // Only callbacks that judge no metric (TerminateOnNaN alone): the run watches `loss`, the one they look at, so a
  // fit without validation data is not warned about a missing val_loss it never asked for.
  if (monitors.length === 0) monitors.push({ metric: 'loss', mode: 'min' });
  const keepsAll = savers.some((p) => p.keepTopK == null && p.keepLast == null);
  const input: Record<string, unknown> = {
    monitors: monitors.map((m) => ({ ...m })),
    saveBestOnly: bestOnly.length > 0,
    everyNEpochs: minOf(savers.map((p) => p.everyNEpochs)),
    everyNSteps: minOf(savers.map((p) => p.everyNSteps)),
    everyNSeconds: minOf(savers.map((p) => p.everyNSeconds)),
    keepTopK: keepsAll ? null : maxOf(savers.map((p) => p.keepTopK)),
    keepLast: keepsAll ? null : maxOf(savers.map((p) => p.keepLast)),
    // A copy at the end wins over labels on every save: it is the stronger promise of a `last` checkpoint.
    saveLast: parts.some((p) => p.saveLast === true) ? true : parts.some((p) => p.saveLast === 'link') ? 'link' : false,
    terminateOnNaN: parts.some((p) => p.terminateOnNaN === true),
  };
  // saveBestOnly without a trigger judges at epoch ends (Keras's default save_freq='epoch'); with an N-batch or a
  // timed trigger it judges there, on those batches' logs (Keras _save_model in on_train_batch_end).
  if (input.saveBestOnly && input.everyNEpochs === null && input.everyNSteps === null && input.everyNSeconds === null) input.everyNEpochs = 1;
  if (stoppers[0]?.earlyStopping) input.earlyStopping = { ...stoppers[0].earlyStopping };
  return input;
}
