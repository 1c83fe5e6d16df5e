// Projections every workspace ledger keeps current. Each area adds one line for its projection file.
import type { Projection } from '../../ledger/types.js';
import { catalogProjection } from './catalog.js';

export * from './catalog.js';

export const coreProjections: Projection<any>[] = [catalogProjection];
