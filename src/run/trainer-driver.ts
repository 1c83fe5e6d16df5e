/**
 * The supervisor's driver for the decision processor: the effects only a trainer process can carry out.
 * A save asks for exactly the decided position's state (hold/release contract; no substitution), stop and
 * restore are commands, and a position whose decisions were all handled is released.
 *
 * @example const driver = trainerDriver(trainer, requests, { backend: () => 'wasm', onStop: () => {} })
 */
import type { DecisionDriver } from './decision-processor.js';
import type { StateRequests } from './state-requests.js';
import type { TrainerProcess } from './trainer-process.js';

export function trainerDriver(
  trainer: Pick<TrainerProcess, 'send'>,
  requests: Pick<StateRequests, 'request' | 'release'>,
  hooks: { backend(): string; onStop(): void; readsFiles(): boolean },
): DecisionDriver {
  return {
    // `save` is sent at once and the trainer holds the position until it replied.
    captureFixedOnCall: true,
    async capture(position) {
      return (await requests.request({ epoch: position.epoch, step: position.step })).state;
    },
    stop(decision) {
      hooks.onStop();
      trainer.send({ type: 'stop', reason: decision.reason });
    },
    // A `stage` trainer reads a restored checkpoint's verified blobs itself (docs/protocol.md, "Staged tensors").
    restoreForm: () => (hooks.readsFiles() ? 'files' : 'memory'),
    async restore(state) {
      trainer.send({ type: 'restore', state });
      return state.trainer.epoch;
    },
    release(position) {
      requests.release(position);
    },
    backend: hooks.backend,
  };
}
