/**
 * Positions in a run: `{epoch, step}` as a trainer reports them. A state's own position is `state.trainer`
 * (completed epochs and steps). An `epoch_end` reports exactly that; a `batch_end` reports the epoch *in
 * progress* (one more than the completed epochs) with the steps done so far. One rule, used by the SDKs, the
 * supervisor's state requests and the store's commit check, says whether a state is the one a position names.
 */

export interface TrainingPosition { epoch: number; step: number }

/**
 * Whether a state at `state` (its `trainer.{epoch, step}`) is the state of the reported position `reported`:
 * the same step, and the same epoch or — for a position inside an epoch (`batch_end`) — the epoch before it.
 * @example statePositionMatches({ epoch: 1, step: 94 }, { epoch: 2, step: 94 }) // true: batch_end of epoch 2 at step 94
 * @example statePositionMatches({ epoch: 12, step: 48 }, { epoch: 1, step: 4 }) // false
 */
export function statePositionMatches(state: TrainingPosition, reported: TrainingPosition): boolean {
  return state.step === reported.step && (state.epoch === reported.epoch || state.epoch + 1 === reported.epoch);
}

/**
 * Order of positions: by epoch, then step (a release at P covers every position ≤ P).
 * @example comparePositions({ epoch: 1, step: 94 }, { epoch: 2, step: 10 }) < 0
 */
export function comparePositions(a: TrainingPosition, b: TrainingPosition): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.step - b.step;
}

/** `epoch 3, step 282`, for messages. */
export function formatPosition(p: TrainingPosition): string {
  return `epoch ${p.epoch}, step ${p.step}`;
}
