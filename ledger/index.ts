// The generic append-only event ledger. Knows nothing about ML; imports nothing from src/.
export * from './types.js';
export * from './errors.js';
export { openLedger, openMemoryLedger } from './open.js';
export { OWNER_PID_FILE } from './lib/level-storage.js';
export { openPgLedger, type PgLedgerOptions } from './pg.js';
export { acquireLease, type Lease, type LeaseOptions } from './lib/pg-lease.js';
export { copyLedgerToPg, type LedgerCopyResult } from './lib/pg-copy.js';
