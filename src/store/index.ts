// Public API of the checkpoint store: content-addressed blobs, manifests, commit/load/verify, export/import.
export { CheckpointStore, createStore, type StoreOptions } from './store.js';
export { openWorkspace, type Workspace, type WorkspaceOptions } from '../workspace.js';
export { weightsDigest } from './digest.js';
export { parseRef, formatRef, resolveRef, tryResolveRef, bestOf, latestOf, rankedBy, primaryMonitor, type CheckpointRef } from './refs.js';
export type { CommitMeta } from './write.js';
export type { LoadedCheckpoint, VerifyResult } from './load.js';
export type { PruneOptions, GcResult, StoreSummary } from './maintenance.js';
export type { ExportOptions, ExportResult } from './export.js';
export type { ImportResult } from './bundle-import.js';
export type { Manifest, TensorEntry, ObjectEntry, TopologyEntry, OptimizerEntry } from './manifest.js';
export { MANIFEST_FORMAT, MANIFEST_VERSION, decodeManifest } from './manifest.js';
export type { Compression, BlobEncoding } from './compression.js';
export { BlobStore, BlobFault } from './blobs.js';
export { encodeSafetensors, type SafetensorsTensor } from './safetensors.js';
export {
  CATALOG, catalogProjection, type CatalogEntry, type CatalogState, type CheckpointStatus, type MonitorMode,
} from '../projections/catalog.js';
