// The page's picture of the ledger: a left fold over the SSE event stream (the same events the server's views
// fold). Plain data; `render` functions read it. No DOM here.

export const DECISION_TYPES = {
  SaveDecided: 'save', SaveSkipped: 'skip', PruneIntended: 'prune', BackupIntended: 'backup',
  StopDecided: 'stop', RestoreDecided: 'restore', PolicyWarning: 'warn',
};

/** Keras' auto mode (the server's home of metric direction is src/policy/mode.ts). */
export function metricMode(metric, mode) {
  if (mode === 'min' || mode === 'max') return mode;
  return /(acc|accuracy|auc|f1|precision|recall|iou|map|score|r2|psnr|ssim)$/i.test(metric) ? 'max' : 'min';
}

export function createModel() {
  return {
    lastSeq: 0,
    caughtUp: false,
    runs: new Map(), // id → run
    runOrder: [],
    checkpoints: new Map(), // id → checkpoint
    decisions: [],
    monitors: new Map(), // metric → 'min' | 'max'
    commitByDecision: new Map(), // SaveDecided seq → checkpoint id
  };
}

function monitorsOfPolicy(policy, depth = 0, found = []) {
  if (!policy || typeof policy !== 'object' || depth > 2) return found;
  if (typeof policy.monitor === 'string' && policy.monitor) found.push([policy.monitor, metricMode(policy.monitor, policy.mode)]);
  for (const value of Object.values(policy)) if (value && typeof value === 'object' && !Array.isArray(value)) monitorsOfPolicy(value, depth + 1, found);
  return found;
}

function runOf(model, event) {
  const id = event.data && typeof event.data.run === 'string' ? event.data.run : event.stream;
  let run = model.runs.get(id);
  if (!run && id && id.startsWith('run-')) {
    // A stream joined mid-way (or a run whose start we filtered): keep a minimal row.
    run = newRun(id, event, {});
    model.runs.set(id, run);
    model.runOrder.push(id);
  }
  return run;
}

function newRun(id, event, d) {
  return {
    id, trainer: d.trainer ?? '?', backend: d.backend ?? '?', epochs: d.epochs ?? 0, policy: d.policy ?? {}, status: 'running',
    startedAt: event.at, lastAt: event.at, epoch: 0, crashes: 0, resumes: 0, resumed: false,
    history: new Map(), // epoch → {epoch, step, metrics, at, seq}
    skips: [], // {epoch, seq, reason}
    markers: [], // {kind: 'crash'|'resume'|'stop', epoch, seq, reason}
    checkpoints: [], // ids in commit order
  };
}

/** Fold one ledger event (as sent by /api/events). Returns true when something visible changed. */
export function applyEvent(model, event) {
  if (event.seq <= model.lastSeq) return false; // never twice
  model.lastSeq = event.seq;
  const d = event.data ?? {};
  const kind = DECISION_TYPES[event.type];
  if (kind) {
    const run = runOf(model, event);
    if (run) run.lastAt = Math.max(run.lastAt, event.at);
    const decision = { ...d, kind: d.kind ?? kind, seq: event.seq, at: event.at, type: event.type, run: d.run ?? event.stream };
    model.decisions.push(decision);
    if (kind === 'skip' && run) run.skips.push({ epoch: d.epoch, seq: event.seq, reason: d.reason });
    if (d.monitor && !model.monitors.has(d.monitor)) model.monitors.set(d.monitor, metricMode(d.monitor));
    return true;
  }
  switch (event.type) {
    case 'RunStarted': {
      if (!model.runs.has(d.run)) model.runOrder.push(d.run);
      model.runs.set(d.run, newRun(d.run, event, d));
      for (const [m, mode] of monitorsOfPolicy(d.policy)) if (!model.monitors.has(m)) model.monitors.set(m, mode);
      return true;
    }
    case 'RunResumed': {
      const run = runOf(model, event);
      if (!run) return false;
      Object.assign(run, { status: 'running', resumed: true, resumes: run.resumes + 1, lastAt: event.at });
      run.markers.push({ kind: 'resume', epoch: d.epoch ?? run.epoch, seq: event.seq, reason: d.fromCheckpoint ? `resumed from ${d.fromCheckpoint} (attempt ${d.attempt})` : `restarted from scratch (attempt ${d.attempt})` });
      return true;
    }
    case 'RunCrashed':
    case 'RunStopped': {
      const run = runOf(model, event);
      if (!run) return false;
      const crashed = event.type === 'RunCrashed';
      Object.assign(run, { status: crashed ? 'crashed' : 'stopped', lastAt: event.at, endReason: d.reason });
      if (crashed) run.crashes++;
      run.markers.push({ kind: crashed ? 'crash' : 'stop', epoch: run.epoch, seq: event.seq, reason: d.reason ?? event.type });
      return true;
    }
    case 'RunFinished': {
      const run = runOf(model, event);
      if (!run) return false;
      Object.assign(run, { status: 'finished', lastAt: event.at, epoch: Math.max(run.epoch, d.epoch ?? 0) });
      return true;
    }
    case 'EpochEnded': {
      const run = runOf(model, event);
      if (!run) return false;
      run.history.set(d.epoch, { epoch: d.epoch, step: d.step, metrics: d.metrics ?? {}, at: event.at, seq: event.seq });
      Object.assign(run, { epoch: d.epoch, lastAt: event.at });
      if (run.status === 'crashed') run.status = 'running';
      return true;
    }
    case 'CheckpointCommitted': {
      if (model.checkpoints.has(d.checkpoint)) return false;
      const run = runOf(model, event);
      model.checkpoints.set(d.checkpoint, {
        id: d.checkpoint, run: d.run, epoch: d.epoch, step: d.step, metrics: d.metrics ?? {}, labels: d.labels ?? [], tags: d.tags ?? [],
        bytes: d.bytes ?? { logical: 0, new: 0 }, status: 'kept', pinned: false, backups: [], seq: event.seq, at: event.at, decisionSeq: d.decisionSeq,
      });
      if (d.decisionSeq !== undefined) model.commitByDecision.set(d.decisionSeq, d.checkpoint);
      for (const label of d.labels ?? []) if (label.startsWith('best:') && !model.monitors.has(label.slice(5))) model.monitors.set(label.slice(5), metricMode(label.slice(5)));
      if (run) {
        run.checkpoints.push(d.checkpoint);
        run.lastAt = Math.max(run.lastAt, event.at);
      }
      return true;
    }
    default: {
      const c = d.checkpoint ? model.checkpoints.get(d.checkpoint) : undefined;
      if (!c) {
        const run = runOf(model, event);
        if (run) run.lastAt = Math.max(run.lastAt, event.at);
        return false;
      }
      if (event.type === 'CheckpointPruned') c.status = 'pruned';
      else if (event.type === 'CheckpointCorrupted' && c.status !== 'pruned') c.status = 'corrupt';
      else if (event.type === 'CheckpointMissing' && c.status !== 'pruned') c.status = 'missing';
      else if ((event.type === 'CheckpointVerified' || event.type === 'CheckpointRepaired') && (c.status === 'corrupt' || c.status === 'missing')) c.status = 'kept';
      else if (event.type === 'CheckpointPinned') c.pinned = true;
      else if (event.type === 'CheckpointUnpinned') c.pinned = false;
      else if (event.type === 'CheckpointTagged') {
        c.tags = [...new Set([...c.tags, ...(d.tags ?? [])])];
        if (d.description !== undefined) c.description = d.description;
      }
      else if (event.type === 'BackupVerified') c.backups.push(d.target);
      else return false;
      return true;
    }
  }
}

/** The kept checkpoint with the best value of `metric` in a run (ties: the earlier one), as src/store/refs.ts. */
export function bestCheckpoint(model, metric, runId) {
  const mode = model.monitors.get(metric) ?? metricMode(metric);
  let best;
  for (const c of model.checkpoints.values()) {
    if (c.status !== 'kept' || (runId && c.run !== runId)) continue;
    const v = c.metrics[metric];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue; // NaN and ±Infinity are never best (src/store/refs.ts)
    if (!best || (mode === 'min' ? v < best.metrics[metric] : v > best.metrics[metric])) best = c;
  }
  return best;
}

/** The newest kept checkpoint of a run. */
export function latestCheckpoint(model, runId) {
  let latest;
  for (const c of model.checkpoints.values()) if (c.status === 'kept' && (!runId || c.run === runId) && (!latest || c.seq > latest.seq)) latest = c;
  return latest;
}

/** The monitored metrics: the policies' monitors, else val_loss/loss if the history has them. */
export function monitorsOf(model, run) {
  const named = [...model.monitors.keys()];
  if (named.length) return named;
  const metrics = new Set();
  for (const h of run?.history.values() ?? []) for (const k of Object.keys(h.metrics)) metrics.add(k);
  return ['val_loss', 'loss'].filter((m) => metrics.has(m)).slice(0, 1);
}

/** Status shown in the run list: running / resumed / finished / crashed / stopped. */
export function displayStatus(run) {
  return run.status === 'running' && run.resumed ? 'resumed' : run.status;
}
