/**
 * Getting a current `ViewState` out of an open ledger, or out of a plain list of events.
 */
import type { Ledger, LedgerEvent } from '../../ledger/types.js';
import { evolveView, initialViewState, viewProjection } from './projection.js';
import type { ViewState } from './types.js';

/**
 * The current read model of an open ledger: registers `viewProjection` on first use (restoring its snapshot
 * and catching up), then returns the live state.
 * @example const state = await readViewState(workspace.ledger); listCheckpoints(state)
 */
export async function readViewState(ledger: Ledger): Promise<ViewState> {
  let state: ViewState | undefined;
  try {
    state = ledger.state<ViewState>(viewProjection.name);
  } catch {
    state = undefined;
  }
  return state ?? ledger.register(viewProjection);
}

/**
 * Fold a list (or stream) of events into a fresh read model.
 * @example const state = await foldViewState(ledger.read())
 */
export async function foldViewState(events: Iterable<LedgerEvent> | AsyncIterable<LedgerEvent>, into: ViewState = initialViewState()): Promise<ViewState> {
  let state = into;
  for await (const event of events) state = evolveView(state, event);
  return state;
}
