/**
 * A draft of the read model's next state: containers are copied the first time they change, so the previous
 * state (which the ledger keeps when a write fails, and which readers may still hold) is never mutated, and
 * unchanged parts are shared rather than deep-cloned.
 *
 * @example const draft = new Draft(prev); draft.entry('ckpt-3')!.pinned = true; return draft.state
 */
import type { CatalogEntry, CatalogState, RunEntry } from './catalog-state.js';

type Owned = 'checkpoints' | 'blobRefs' | 'pendingPrunes' | 'runs' | 'monitors';

export class Draft {
  readonly state: CatalogState;
  // What this draft already owns (copied from prev); plain objects, as most events touch one thing or none.
  private copied: Partial<Record<Owned, true>> = {};
  private copiedEntries: Record<string, true> = {};
  private copiedRuns: Record<string, true> = {};

  constructor(readonly prev: CatalogState) {
    this.state = { ...prev };
  }

  /** A writable copy of one of the state's records. */
  own<K extends Owned>(key: K): CatalogState[K] {
    if (!this.copied[key]) {
      this.state[key] = { ...this.prev[key] } as CatalogState[K];
      this.copied[key] = true;
    }
    return this.state[key];
  }

  /** A writable copy of one checkpoint (its arrays copied too), or undefined for an unknown id. */
  entry(id: string | undefined): CatalogEntry | undefined {
    if (id === undefined || !Object.hasOwn(this.state.checkpoints, id)) return undefined;
    const current = this.state.checkpoints[id];
    if (this.copiedEntries[id]) return current;
    const copy: CatalogEntry = {
      ...current, tags: [...current.tags], exports: [...current.exports], backups: [...current.backups],
    };
    this.own('checkpoints')[id] = copy;
    this.copiedEntries[id] = true;
    return copy;
  }

  /** A writable copy of one run, or undefined for an unknown run. */
  run(id: string | undefined): RunEntry | undefined {
    if (id === undefined || !Object.hasOwn(this.state.runs, id)) return undefined;
    if (this.copiedRuns[id]) return this.state.runs[id];
    const copy = { ...this.state.runs[id] };
    this.own('runs')[id] = copy;
    this.copiedRuns[id] = true;
    return copy;
  }

  /** Add a new checkpoint at the end of the commit order. */
  add(entry: CatalogEntry): void {
    this.own('checkpoints')[entry.id] = entry;
    this.copiedEntries[entry.id] = true;
    this.state.order = [...this.prev.order, entry.id];
  }

  /** Add (or restart) a run. */
  addRun(run: RunEntry): void {
    this.own('runs')[run.id] = run;
    this.copiedRuns[run.id] = true;
    if (!this.prev.runOrder.includes(run.id)) this.state.runOrder = [...this.prev.runOrder, run.id];
  }
}
