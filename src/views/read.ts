/**
 * Getting the current read model (src/projections/catalog.ts) out of an open ledger, or out of a list of events.
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import { catalogProjection, evolveCatalog, initialCatalog, type CatalogState } from '../projections/catalog.js';

/**
 * The current read model of an open ledger: registers the catalog projection on first use (restoring its
 * snapshot and catching up), then returns the live state.
 * @example const state = await readViewState(workspace.ledger); listCheckpoints(state)
 */
export async function readViewState(ledger: Ledger): Promise<CatalogState> {
  let state: CatalogState | undefined;
  try {
    state = ledger.state<CatalogState>(catalogProjection.name);
  } catch {
    state = undefined;
  }
  return state ?? ledger.register(catalogProjection);
}

/**
 * Fold a list (or stream) of events into a fresh read model.
 * @example const state = await foldViewState(ledger.read())
 */
export async function foldViewState(events: Iterable<LedgerEvent> | AsyncIterable<LedgerEvent>, into: CatalogState = initialCatalog()): Promise<CatalogState> {
  let state = into;
  for await (const event of events) state = evolveCatalog(state, event);
  return state;
}
