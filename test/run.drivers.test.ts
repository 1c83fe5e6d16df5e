// Issue 11: one decision processor, two drivers. The same recorded epochs (metrics per epoch) go through the
// supervisor driver (`train()` with a real trainer process replaying them) and through the callbacks driver
// (the FitRun that ModelCheckpoint/EarlyStopping share, on a real tfjs model): both ledgers hold identical
// decisions (kind, rule, epoch, step, reason, checkpoint) for identical causes.
//
// Commits are written in the background by both drivers, so a commit's decisions (prunes) may land before or
// after the next epoch's: decisions are compared per cause (the event that caused them), in order within it.
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LedgerEvent } from '../ledger/types.js';
import type { Decision } from '../src/events.js';
import { train } from '../src/run/train.js';
import { FitRun } from '../src/tfjs/callbacks/fit-run.js';
import type { Participant } from '../src/tfjs/callbacks/participant.js';
import { mergePolicyInputs, type PolicyPart } from '../src/tfjs/callbacks/policy-input.js';
import { openWorkspace } from '../src/workspace.js';
import { FAKE_TRAINER, readEvents, tempDir } from './fixtures/run-helpers.js';

/** Recorded val_loss: improvements, plateaus and a regression, so saves, skips and top-K prunes all happen. */
const VAL_LOSS = [0.9, 0.7, 0.75, 0.5, 0.52, 0.51, 0.4, 0.45, 0.3, 0.35];
const EPOCHS = VAL_LOSS.map((v, i) => ({ loss: Number((1 - i * 0.05).toFixed(2)), val_loss: v }));
const BATCHES = 2;

const part: PolicyPart = {
  source: 'ModelCheckpoint', monitors: [{ metric: 'val_loss', mode: 'min' }], saves: true,
  everyNEpochs: 1, keepTopK: 2, keepLast: 1, saveLast: false,
};
const policy = mergePolicyInputs([part]);

type Seen = { kind: string; rule: string; epoch?: number; step?: number; reason: string; checkpoint?: string };

/** Decisions grouped by a description of their cause that does not depend on seqs. */
function decisionsByCause(events: LedgerEvent[]): Record<string, Seen[]> {
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const causeOf = (e: LedgerEvent): string => {
    const d = e.data as { epoch?: number; step?: number; checkpoint?: string };
    return `${e.type} epoch ${d.epoch ?? '-'} step ${d.step ?? '-'}${d.checkpoint ? ` ${d.checkpoint}` : ''}`;
  };
  const out: Record<string, Seen[]> = {};
  for (const e of events) {
    if (!['SaveDecided', 'SaveSkipped', 'PruneIntended', 'BackupIntended', 'StopDecided', 'RestoreDecided', 'PolicyWarning'].includes(e.type)) continue;
    const d = e.data as Decision;
    const cause = bySeq.get(d.causeSeq);
    const key = cause ? causeOf(cause) : `seq ${d.causeSeq}`;
    (out[key] ??= []).push({ kind: d.kind, rule: d.rule, epoch: d.epoch, step: d.step, reason: d.reason, ...(d.checkpoint ? { checkpoint: d.checkpoint } : {}) });
  }
  return out;
}

async function throughSupervisor(dir: string): Promise<LedgerEvent[]> {
  process.env.FAKE_METRICS = JSON.stringify(EPOCHS);
  try {
    const result = await train({
      dir, trainer: FAKE_TRAINER, epochs: EPOCHS.length, seed: 1, batchEvery: 0, policy, out: null, handleSignals: false, maxRestarts: 0,
      trainerConfig: { batchesPerEpoch: BATCHES, batchMs: 1 },
    });
    assert.is(result.exitCode, 0, result.error?.message);
  } finally {
    delete process.env.FAKE_METRICS;
  }
  return readEvents(dir);
}

async function throughCallbacks(dir: string): Promise<LedgerEvent[]> {
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const ws = await openWorkspace(dir, { create: true });
  try {
    const run = new FitRun(ws, model);
    const participant: Participant = { kind: 'ModelCheckpoint', policy: part };
    run.join(participant);
    await run.start({ epochs: EPOCHS.length, samples: BATCHES * 10, batchSize: 10 }, 0);
    for (let i = 0; i < EPOCHS.length; i++) {
      run.epochBegan(i);
      for (let b = 0; b < BATCHES; b++) run.batchSeen(b);
      await run.epochEnded(i, EPOCHS[i]);
    }
    await run.trainEnded();
    await run.settle();
  } finally {
    await ws.close();
    model.dispose();
  }
  return readEvents(dir);
}

test('given the same recorded epochs, when they go through the supervisor and through the callbacks, then both record identical decisions for each epoch and the same retention decision for every checkpoint', async () => {
  const supervised = tempDir();
  const inProcess = tempDir();
  try {
    const a = decisionsByCause(await throughSupervisor(supervised.dir));
    const b = decisionsByCause(await throughCallbacks(inProcess.dir));
    const kinds = Object.values(a).flat().map((d) => d.kind);
    for (const kind of ['save', 'prune']) assert.ok(kinds.includes(kind), `the recording exercises ${kind}: ${kinds}`);
    assert.ok(Object.keys(a).some((k) => k.startsWith('CheckpointCommitted')), 'commit-caused decisions are compared too');
    // Decisions caused by the recorded epochs and the end of training are identical, reasons included.
    const fromEpochs = (m: Record<string, Seen[]>) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('CheckpointCommitted')));
    assert.equal(fromEpochs(b), fromEpochs(a));
    // Commits land in the background in both drivers, so which commit a retention decision follows (and the
    // momentary top-K its reason quotes) depends on timing; what each driver decides about every checkpoint does not.
    const retention = (m: Record<string, Seen[]>) => Object.entries(m).filter(([k]) => k.startsWith('CheckpointCommitted'))
      .flatMap(([, seen]) => seen.map((d) => `${d.kind} ${d.rule} ${d.checkpoint ?? '-'}`)).sort();
    assert.equal(retention(b), retention(a));
  } finally {
    supervised.cleanup();
    inProcess.cleanup();
  }
});

test.run();
