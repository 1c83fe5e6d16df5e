/** Prune decisions of retention and their one-line reasons (`ckpt-7 left the top 3 by val_loss (…)`). */
import type { Decision } from '../events.js';
import { append, decision, plural } from './state.js';
import type { PolicyConfig, TrackedCheckpoint } from './types.js';

/**
 * The common prune reason is `<id> left the top K by <metric> (<value> > <top values>); not among the last N`.
 * Only the id and value change from prune to prune: the rest is built once per config and per top (which rarely
 * changes between commits; remembered by record identity) so that a prune concatenates four strings.
 */
let TEXT_CONFIG: PolicyConfig | null = null;
/** ` left the top K by <metric> (` */
let TOP_HEAD = '';
/** `; not among the last N` or `` */
let LAST_NOTE = '';
const TAIL_RECS: TrackedCheckpoint[] = [];
/** ` > <top values>)<LAST_NOTE>` for TAIL_RECS and TEXT_CONFIG. */
let TOP_TAIL = '';

function topReason(c: TrackedCheckpoint, config: PolicyConfig, top: readonly TrackedCheckpoint[], topLen: number): string {
  if (TEXT_CONFIG !== config) {
    TEXT_CONFIG = config;
    TOP_HEAD = ` left the top ${config.keepTopK} by ${config.monitors[0].metric} (`;
    LAST_NOTE = config.keepLast !== null ? `; not among the last ${config.keepLast}` : '';
    TAIL_RECS.length = 0;
    TOP_TAIL = ` ${config.monitors[0].mode === 'min' ? '>' : '<'} )${LAST_NOTE}`;
  }
  let same = TAIL_RECS.length === topLen;
  for (let t = 0; same && t < topLen; t++) same = TAIL_RECS[t] === top[t];
  if (!same) {
    let listed = '';
    for (let t = 0; t < topLen; t++) listed += (listed ? ', ' : '') + top[t].shown;
    TAIL_RECS.length = 0;
    for (let t = 0; t < topLen; t++) TAIL_RECS.push(top[t]);
    TOP_TAIL = ` ${config.monitors[0].mode === 'min' ? '>' : '<'} ${listed})${LAST_NOTE}`;
  }
  return c.id + TOP_HEAD + c.shown + TOP_TAIL;
}

/**
 * The `prune` decision for working-set checkpoint `c` (the working set is `live` then `added`), with its reason.
 * `top` is the top by the first monitor (its first topLen entries), for the reason's numbers.
 */
export function pruneDecision(c: TrackedCheckpoint, config: PolicyConfig, top: readonly TrackedCheckpoint[], topLen: number, live: TrackedCheckpoint[], added: TrackedCheckpoint | null, seq: number, run: string | null): Decision {
  const k = config.keepTopK;
  const value = c.values[0];
  if (k !== null && k > 0 && c.healthy && value !== null) {
    // The common case, built field by field in decision()'s key order (no intermediate object).
    const m = config.monitors[0];
    const reason = topReason(c, config, top, topLen);
    const threshold = topLen ? (top[topLen - 1].values[0] as number) : null;
    return run
      ? { kind: 'prune', causeSeq: seq, rule: 'keepTopK', reason, run, epoch: c.epoch, step: c.step, monitor: m.metric, value, threshold, checkpoint: c.id }
      : { kind: 'prune', causeSeq: seq, rule: 'keepTopK', reason, epoch: c.epoch, step: c.step, monitor: m.metric, value, threshold, checkpoint: c.id };
  }
  const numbers: Partial<Decision> = { epoch: c.epoch, step: c.step, checkpoint: c.id };
  if (run) numbers.run = run;
  const lastNote = config.keepLast !== null ? `; not among the last ${config.keepLast}` : '';
  if (k !== null && k >= 0) {
    const m = config.monitors[0];
    numbers.monitor = m.metric;
    numbers.value = value;
    if (k === 0) return decision('prune', seq, 'keepTopK', `${c.id} is not kept: keepTopK is 0${lastNote}`, numbers);
    if (!c.healthy) return decision('prune', seq, 'keepTopK', `${c.id} failed verification; not eligible for the top ${k} by ${m.metric}${lastNote}`, numbers);
    // Healthy with a value was the common case above: what is left has no value.
    return decision('prune', seq, 'keepTopK', `${c.id} has no finite ${m.metric}; not in the top ${k}${lastNote}`, numbers);
  }
  const base = numbers;
  if (config.keepLast !== null) {
    const all = added === null ? live : append(live, added);
    const ids = all.slice(Math.max(0, all.length - config.keepLast)).map((l) => l.id).join(', ');
    return decision('prune', seq, 'keepLast', `${c.id} left the last ${config.keepLast} (${ids || 'none'})`, base);
  }
  const rules: string[] = [];
  if (config.keepEveryNEpochs !== null) rules.push(`every ${plural(config.keepEveryNEpochs, 'epoch')}`);
  if (config.keepEveryNSteps !== null) rules.push(`every ${plural(config.keepEveryNSteps, 'step')}`);
  if (config.keepEveryNHours !== null) rules.push(`one every ${config.keepEveryNHours} h`);
  return decision('prune', seq, config.keepEveryNEpochs !== null ? 'keepEveryNEpochs' : 'keepEveryNHours',
    `${c.id} is not a milestone (${rules.join(', ')})`, base);
}
