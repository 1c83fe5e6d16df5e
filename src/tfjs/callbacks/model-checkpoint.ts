/**
 * Keras's ModelCheckpoint for tfjs `model.fit`, writing to a ckpt directory (ledger + content-addressed store)
 * instead of loose files. In a content-addressed store a checkpoint has an id (`ckpt-<n>`), not a path, so the
 * rendered `filepath` becomes the checkpoint's description (what `ckpt list`/`ckpt show` print), and with
 * `exportFormat: 'tfjs'` the checkpoint is also exported as a tfjs model directory at that path.
 */
import { resolve } from 'node:path';
import type { Decision } from '../../events.js';
import { resolveMode } from '../../policy/mode.js';
import { renderFilepath } from './filepath.js';
import { improvedMessage, missingMonitorMessage, notImprovedMessage, savingMessage } from './keras-messages.js';
import { DEFAULT_DIR, LedgerCallback } from './ledger-callback.js';
import type { RecordedDecision, StepOutcome } from './participant.js';

export interface ModelCheckpointArgs {
  /** Keras filepath template, e.g. `model_{epoch:02d}_{val_loss:.4f}`; rendered into the checkpoint's description. */
  filepath?: string;
  /** The ckpt directory (ledger + objects). Default `./checkpoints`. */
  dir?: string;
  /** Metric to watch. Default `val_loss`. */
  monitor?: string;
  /** `auto` (from the metric name), `min` or `max`. */
  mode?: 'auto' | 'min' | 'max';
  /** Save only when the monitor improved (Keras `save_best_only`). */
  saveBestOnly?: boolean;
  /** Save weights without optimizer state (Keras `save_weights_only`); the topology blob is kept for exports. */
  saveWeightsOnly?: boolean;
  /** `'epoch'` or every N batches (Keras `save_freq`). */
  saveFreq?: 'epoch' | number;
  /** The first value must beat this to count as an improvement (Keras `initial_value_threshold`). */
  initialValueThreshold?: number;
  /** 1 prints Keras's lines (`Epoch 3: val_loss improved from ...`). Default 0. */
  verbose?: 0 | 1;
  /**
   * ckpt extension: keep only the best K checkpoints by `monitor` (Lightning `save_top_k`; -1 keeps all; 0 saves
   * none by metric, only `saveLast`'s). Default: keep all.
   */
  keepTopK?: number;
  /** ckpt extension: save at every N-th epoch end (Keras 2 `period`, Lightning `every_n_epochs`; 0: none). Default 1. */
  everyNEpochs?: number;
  /**
   * ckpt extension: save when this many seconds passed since the last timed save (Lightning `train_time_interval`),
   * checked at every batch end (a `BatchEnded` event each batch); epoch-end saves are off.
   */
  trainTimeInterval?: number;
  /** ckpt extension: `true` saves a `last` checkpoint when training ends; `'link'` labels every save `last` (Lightning `save_last`). */
  saveLast?: boolean | 'link';
  /** ckpt extension: also keep the newest N (tf.train.CheckpointManager `max_to_keep`). */
  keepLast?: number;
  /** ckpt extension: also export each saved checkpoint in tfjs format to the rendered filepath. */
  exportFormat?: 'tfjs';
  /** Where verbose lines go. Default console.log. */
  log?: (line: string) => void;
}

/**
 * Save checkpoints of the model during `fit`, with Keras's options and messages; every decision goes to the ledger.
 * @example
 *   const checkpoint = new ModelCheckpoint({ filepath: 'model_{epoch:02d}_{val_loss:.4f}', monitor: 'val_loss', saveBestOnly: true, verbose: 1 });
 *   await model.fit(xs, ys, { epochs: 10, validationSplit: 0.2, callbacks: [checkpoint] });
 *   // Epoch 3: val_loss improved from 0.31200 to 0.29810, saving model to model_03_0.2981
 */
export class ModelCheckpoint extends LedgerCallback {
  readonly filepath: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly verbose: 0 | 1;
  /** Every decision this callback's run made, in order (the ledger has them too). */
  readonly decisions: RecordedDecision[] = [];
  private readonly log: (line: string) => void;
  private readonly exportFormat?: 'tfjs';
  private readonly mode: 'auto' | 'min' | 'max';
  private readonly initialValueThreshold?: number;

  constructor(args: ModelCheckpointArgs = {}) {
    const monitor = args.monitor ?? 'val_loss';
    const saveFreq = args.saveFreq ?? 'epoch';
    const filepath = args.filepath ?? 'model_{epoch:02d}';
    const batchEvery = typeof saveFreq === 'number' ? saveFreq : undefined;
    const timed = args.trainTimeInterval;
    if ((batchEvery !== undefined || timed !== undefined) && args.everyNEpochs !== undefined && args.everyNEpochs > 0) {
      throw new TypeError('ModelCheckpoint everyNEpochs, a numeric saveFreq and trainTimeInterval are mutually exclusive (as in Lightning ModelCheckpoint)');
    }
    // An N-batch or timed trigger turns epoch-end saves off, and so does keepTopK 0 (Lightning save_top_k=0).
    const everyNEpochs = batchEvery !== undefined || timed !== undefined || args.keepTopK === 0 ? null : (args.everyNEpochs ?? 1) || null;
    super(args.dir ?? DEFAULT_DIR, {
      kind: 'ModelCheckpoint',
      policy: {
        source: 'ModelCheckpoint',
        monitors: [{ metric: monitor, mode: args.mode ?? 'auto', initialValueThreshold: args.initialValueThreshold ?? null }],
        saves: true,
        saveBestOnly: args.saveBestOnly ?? false,
        everyNEpochs,
        everyNSteps: batchEvery ?? null,
        everyNSeconds: timed ?? null,
        keepTopK: args.keepTopK ?? null,
        keepLast: args.keepLast ?? null,
        saveLast: args.saveLast ?? false,
      },
      weightsOnly: args.saveWeightsOnly ?? false,
      // A timed trigger is checked at every batch, as Lightning does in on_train_batch_end.
      batchEvery: batchEvery ?? (timed !== undefined ? 1 : undefined),
      describe: (values) => renderFilepath(filepath, values),
    });
    if (typeof saveFreq === 'number' && !(Number.isInteger(saveFreq) && saveFreq >= 1)) {
      throw new TypeError(`ModelCheckpoint saveFreq must be 'epoch' or an integer >= 1, got ${saveFreq}`);
    }
    this.filepath = filepath;
    this.monitor = monitor;
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.verbose = args.verbose ?? 0;
    this.exportFormat = args.exportFormat;
    this.mode = args.mode ?? 'auto';
    this.initialValueThreshold = args.initialValueThreshold;
    this.log = args.log ?? ((line) => console.log(line));
  }

  protected override async onOutcome(outcome: StepOutcome): Promise<void> {
    this.decisions.push(...outcome.decisions);
    const save = outcome.decisions.find((d) => d.kind === 'save');
    const names = outcome.batch === undefined ? { epoch: outcome.epoch, ...outcome.metrics } : { epoch: outcome.epoch, batch: outcome.batch + 1, ...outcome.metrics };
    if (this.verbose >= 1) {
      const line = this.messageFor(outcome, save, names);
      if (line) this.log(line);
    }
    if (save?.committed && this.exportFormat && this.fitRun) {
      const id = await save.committed;
      await this.fitRun.workspace.store.exportCheckpoint(id, { format: 'tfjs', out: resolve(renderFilepath(this.filepath, names)) });
    }
  }

  private messageFor(outcome: StepOutcome, save: RecordedDecision | undefined, names: Record<string, number>): string | undefined {
    const about = (d: Decision) => d.monitor === undefined || d.monitor === this.monitor;
    if (!this.saveBestOnly) return save ? savingMessage(outcome.epoch, renderFilepath(this.filepath, names)) : undefined;
    if (typeof outcome.metrics[this.monitor] !== 'number') return missingMonitorMessage(this.monitor);
    if (save && about(save)) {
      return improvedMessage(outcome.epoch, this.monitor, save.previous ?? this.startValue(), outcome.metrics[this.monitor] ?? save.value ?? NaN, renderFilepath(this.filepath, names));
    }
    const skip = outcome.decisions.find((d) => d.kind === 'skip' && about(d));
    if (skip) return notImprovedMessage(outcome.epoch, this.monitor, skip.previous ?? this.startValue());
    return undefined;
  }

  /** Keras starts `best` at initial_value_threshold, else at +inf (min) or -inf (max). */
  private startValue(): number {
    if (this.initialValueThreshold !== undefined) return this.initialValueThreshold;
    return resolveMode(this.monitor, this.mode) === 'max' ? -Infinity : Infinity;
  }
}
