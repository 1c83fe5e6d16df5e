/**
 * `ckpt/trainer/tfjs`: what a tfjs trainer needs besides the SDK — the backend choice and the capture/restore of
 * a model with its optimizer as an `ObjectState`. One home: these are src/tfjs's own functions (the in-process
 * callbacks use the same ones), re-exported for trainers, which import only the SDK.
 *
 * @example
 *   import { runTrainer } from 'ckpt/trainer';
 *   import { captureObject, restoreObject, selectBackend } from 'ckpt/trainer/tfjs';
 *   const backend = await selectBackend();
 *   // capture(): ({ objects: { model: await captureObject(model, optimizer) }, trainer: { epoch, step }, history })
 */
export { selectBackend, type BackendName, type SelectBackendOptions } from '../tfjs/backend.js';
export { captureObject, restoreObject, tensorToData, dataToTensor } from '../tfjs/state.js';
