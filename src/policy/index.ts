// Public names of src/policy: pure checkpoint-decision reducers, their config, replay and the loader.
export * from './types.js';
export { parsePolicyConfig } from './parse.js';
export { presets, PRESET_NAMES, isPresetName } from './presets.js';
export { resolveMode, knownMode, isImprovement, formatValue, showChange } from './mode.js';
export { createPolicy } from './policy.js';
export { policyProjection, configVersion, stableStringify, POLICY_STATE_VERSION } from './projection.js';
export { replay, type ReplayResult, type WouldSave } from './replay.js';
export { hasRetention } from './retention.js';
export { keptCheckpoints, archivedCheckpoints, bestOverall, findKept } from './tracked.js';
