/**
 * The JSON read endpoints: each answers exactly what the matching CLI view (`ckpt <view> --json`) prints,
 * computed by the same functions in src/views from the same read model.
 */
import type { Ledger } from '../../ledger/types.js';
import { CkptError } from '../errors.js';
import {
  bestView, decisionsView, historyView, latestView, listCheckpoints, logView, readViewState, runsView, showCheckpoint,
  summaryView, whyCheckpoint, type CatalogState,
} from '../views/index.js';

type Route = (state: CatalogState, q: URLSearchParams) => unknown;

const list = (value: string | null): string[] | undefined => (value ? value.split(',').filter(Boolean) : undefined);
const opt = (value: string | null): string | undefined => value ?? undefined;
function requireRef(q: URLSearchParams): string {
  const ref = q.get('ref');
  if (!ref) throw new CkptError('SERVER_BAD_REQUEST', 'add ?ref=<checkpoint id | latest | best | best:<metric> | epoch:<N>>');
  return ref;
}

/** Path → view. Query parameters mirror the CLI flags (`run`, `all`, `kind`, `after`, `monitor`, `ref`). */
export const VIEW_ROUTES: Record<string, Route> = {
  '/api/runs': (s) => runsView(s),
  '/api/checkpoints': (s, q) => listCheckpoints(s, { all: q.get('all') === '1' || q.get('all') === 'true', run: opt(q.get('run')) }),
  '/api/history': (s, q) => historyView(s, { run: opt(q.get('run')) }),
  '/api/decisions': (s, q) => decisionsView(s, { run: opt(q.get('run')), kinds: list(q.get('kind')), afterSeq: q.get('after') ? Number(q.get('after')) : undefined }),
  '/api/log': (s, q) => logView(s, { run: opt(q.get('run')), kinds: list(q.get('kind')), afterSeq: q.get('after') ? Number(q.get('after')) : undefined }),
  '/api/summary': (s) => summaryView(s),
  '/api/best': (s, q) => bestView(s, { monitor: opt(q.get('monitor')), run: opt(q.get('run')) }),
  '/api/latest': (s, q) => latestView(s, { run: opt(q.get('run')) }),
  '/api/show': (s, q) => showCheckpoint(s, requireRef(q)),
  '/api/why': (s, q) => whyCheckpoint(s, requireRef(q)),
  '/api/policy': (s, q) => policyView(s, opt(q.get('run'))),
};

/**
 * The active policy: the named run's (default: the newest run's) normalized configuration and the monitors
 * that define "best".
 * @example policyView(state).policy // { preset: 'best-only', monitor: 'val_loss', ... }
 */
export function policyView(state: CatalogState, run?: string) {
  const id = run ?? state.runOrder[state.runOrder.length - 1] ?? null;
  const found = id ? state.runs[id] : undefined;
  if (run && !found) throw new CkptError('SERVER_NOT_FOUND', `no run "${run}"; list runs at /api/runs`, { details: { run } });
  return {
    run: found ? found.id : null,
    policy: found ? found.policy : null,
    monitors: Object.entries(state.monitors).map(([monitor, mode]) => ({ monitor, mode })),
  };
}

/**
 * Answer a view route from the ledger's read model, or undefined when `path` is not a view route.
 * @example const body = await answerView(ledger, '/api/why', new URLSearchParams('ref=best'))
 */
export async function answerView(ledger: Ledger, path: string, query: URLSearchParams): Promise<{ body: unknown } | undefined> {
  const route = VIEW_ROUTES[path];
  if (!route) return undefined;
  // Errors keep the views' codes (CLI_REF_UNKNOWN → 404), so a CLI reading through the owner reports the same.
  return { body: route(await sharedViewState(ledger), query) };
}

const registering = new WeakMap<Ledger, Promise<CatalogState>>();

/** readViewState, with concurrent first requests sharing one projection registration. */
function sharedViewState(ledger: Ledger): Promise<CatalogState> {
  const pending = registering.get(ledger);
  if (pending) return pending.then(() => readViewState(ledger));
  const first = readViewState(ledger);
  registering.set(ledger, first);
  first.catch(() => registering.delete(ledger));
  return first;
}
