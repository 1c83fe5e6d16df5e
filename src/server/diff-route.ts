/**
 * `GET /api/diff?a=<ref>&b=<ref>[&metricsOnly=1]`: exactly what `ckpt diff a b --json` prints — the read
 * model's `diffView` (metrics side by side) plus `tensorDiff` over both checkpoints' verified blobs, loaded by
 * the CLI's own `loadCheckpointState`. The page compares N checkpoints as N-1 diffs against the first.
 */
import type { Ledger } from '../../ledger/types.js';
import { loadCheckpointState } from '../cli/blob-reader.js';
import { CkptError } from '../errors.js';
import { diffView, readViewState, tensorDiff, type DiffView } from '../views/index.js';

/**
 * @example const view = await answerDiff(ledger, dir, new URLSearchParams('a=epoch:1&b=best'))
 */
export async function answerDiff(ledger: Ledger, dir: string, query: URLSearchParams): Promise<DiffView> {
  const a = query.get('a');
  const b = query.get('b');
  if (!a || !b) throw new CkptError('SERVER_BAD_REQUEST', 'add ?a=<ref>&b=<ref> (ids, best, latest, epoch:<N>)');
  const state = await readViewState(ledger);
  const view = diffView(state, a, b);
  if (query.get('metricsOnly') !== '1') {
    const [sa, sb] = [await loadCheckpointState(dir, state.checkpoints[view.a.id]), await loadCheckpointState(dir, state.checkpoints[view.b.id])];
    view.tensors = tensorDiff(sa, sb);
  }
  return view;
}
