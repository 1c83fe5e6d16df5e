/**
 * Realistic ledger content for server and dashboard tests: a run with the events the supervisor appends
 * (src/events.ts) — epochs, save/skip decisions, commits, top-K prunes, a crash and a resume, a backup.
 */
import type { EventInput, Ledger } from '../ledger/types.js';
import type { CheckpointCommitted, Decision, EpochEnded, RunStarted } from '../src/events.js';

export interface RunScript {
  run?: string;
  epochs?: number;
  /** Epoch after which the run "crashes" and resumes from its latest checkpoint. */
  crashAfter?: number;
  keepTopK?: number;
  /** Epoch time step in ms (event `at`). */
  msPerEpoch?: number;
  startAt?: number;
}

/** val_loss per epoch: improving with a bump, deterministic. */
export function valLossAt(epoch: number): number {
  return Number((0.9 / (1 + 0.45 * epoch) + (epoch % 3 === 0 ? 0.08 : 0)).toFixed(4));
}

/**
 * Yield the appends of one run, batch by batch (each batch is what the supervisor appends at once).
 * Seqs are predicted from `firstSeq` so decisions can name their cause.
 */
export function* runBatches(script: RunScript = {}, firstSeq = 1): Generator<EventInput[]> {
  const run = script.run ?? 'run-1';
  const epochs = script.epochs ?? 8;
  const keep = script.keepTopK ?? 3;
  const step = script.msPerEpoch ?? 1000;
  let at = script.startAt ?? Date.now() - epochs * step;
  let seq = firstSeq;
  const batch = (events: Omit<EventInput, 'stream' | 'at'>[]): EventInput[] => {
    at += step / 8;
    const out = events.map((e) => ({ ...e, stream: run, at }));
    seq += out.length;
    return out;
  };
  const started: RunStarted = {
    run, trainer: 'fixture', trainerVersion: '1.0.0', backend: 'cpu', protocol: 1, seed: 42, epochs, batchSize: 32, trainerConfig: {},
    policy: { preset: 'best-only', monitor: 'val_loss', mode: 'min', keepTopK: keep, minDelta: 0 }, pid: process.pid,
  };
  yield batch([{ type: 'RunStarted', data: started }]);
  let best = Infinity;
  const kept: { id: string; value: number }[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const val = valLossAt(epoch);
    const epochSeq = seq;
    const ended: EpochEnded = { run, epoch, step: epoch * 100, ms: step, metrics: { loss: Number((val * 0.8).toFixed(4)), val_loss: val, acc: Number((1 - val / 2).toFixed(4)), val_acc: Number((1 - val / 1.8).toFixed(4)) } };
    yield batch([{ type: 'EpochEnded', data: ended }]);
    if (val < best) {
      const save: Decision = { kind: 'save', causeSeq: epochSeq, rule: 'saveBestOnly', reason: `val_loss improved from ${best === Infinity ? 'inf' : best.toFixed(4)} to ${val.toFixed(4)}`, run, epoch, step: epoch * 100, monitor: 'val_loss', value: val, previous: best === Infinity ? null : best, labels: ['best:val_loss'] };
      const saveSeq = seq;
      yield batch([{ type: 'SaveDecided', data: save }]);
      best = val;
      const id = `ckpt-${run.slice(4)}-${epoch}`;
      const commit: CheckpointCommitted = {
        checkpoint: id, run, epoch, step: epoch * 100, manifest: `m${epoch}`, weightsDigest: `w${epoch}`, metrics: ended.metrics,
        bytes: { logical: 400_000, new: epoch === 1 ? 400_000 : 150_000 }, blobs: [`b${epoch}`], objects: ['model'], tags: [], decisionSeq: saveSeq,
        labels: ['best:val_loss'], trainer: 'fixture', backend: 'cpu',
      };
      yield batch([{ type: 'CheckpointCommitted', data: commit }]);
      kept.push({ id, value: val });
      if (kept.length > keep) {
        kept.sort((a, b) => a.value - b.value);
        const worst = kept.pop()!;
        const intentSeq = seq;
        yield batch([{ type: 'PruneIntended', data: { kind: 'prune', causeSeq: epochSeq, rule: 'keepTopK', reason: `keep top ${keep} by val_loss: ${worst.id} (${worst.value}) is now #${keep + 1}`, run, checkpoint: worst.id } satisfies Decision }]);
        yield batch([{ type: 'CheckpointPruned', data: { checkpoint: worst.id, intentSeq, blobsDeleted: 1, bytesFreed: 150_000 } }]);
      }
      if (epoch === 2) {
        yield batch([{ type: 'BackupIntended', data: { kind: 'backup', causeSeq: epochSeq, rule: 'backupBest', reason: 'new best: copy to backup target', run, checkpoint: id, target: '/backup' } satisfies Decision }]);
        yield batch([{ type: 'BackupVerified', data: { checkpoint: id, target: '/backup', blobs: 2, bytes: 400_000 } }]);
      }
    } else {
      yield batch([{ type: 'SaveSkipped', data: { kind: 'skip', causeSeq: epochSeq, rule: 'saveBestOnly', reason: `val_loss did not improve from ${best.toFixed(4)}`, run, epoch, monitor: 'val_loss', value: val, previous: best } satisfies Decision }]);
    }
    if (script.crashAfter === epoch) {
      yield batch([{ type: 'RunCrashed', data: { run, reason: 'trainer killed by SIGKILL', signal: 'SIGKILL', exitCode: null, attempt: 1 } }]);
      yield batch([{ type: 'RunResumed', data: { run, fromCheckpoint: kept[kept.length - 1]?.id ?? null, epoch, step: epoch * 100, attempt: 1, reason: 'resume' } }]);
    }
  }
  yield batch([{ type: 'TrainingEnded', data: { run, epoch: epochs, step: epochs * 100, reason: 'done' } }]);
  yield batch([{ type: 'RunFinished', data: { run, epoch: epochs, step: epochs * 100 } }]);
}

/**
 * Append a whole scripted run to a ledger.
 * @example await fillLedger(ledger, { epochs: 6, crashAfter: 3 })
 */
export async function fillLedger(ledger: Ledger, script: RunScript = {}): Promise<number> {
  for (const events of runBatches(script, ledger.lastSeq + 1)) await ledger.append(events);
  return ledger.lastSeq;
}
