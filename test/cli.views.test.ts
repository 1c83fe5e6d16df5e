import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openMemoryLedger } from '../ledger/index.js';
import {
  bestView, decisionsView, diffView, foldViewState, historyView, latestView, listCheckpoints, logView, readViewState,
  resolveRef, showCheckpoint, summaryView, tensorDiff, catalogProjection, whyCheckpoint, monitorsOf, primaryMonitor, itemsOf,
} from '../src/views/index.js';
import { CkptError } from '../src/errors.js';
import type { CheckpointState } from '../src/checkpoint.js';
import { sampleHistory } from './cli.helpers.js';

async function sampleState() {
  const ledger = await openMemoryLedger({ projections: [catalogProjection] });
  await ledger.append(sampleHistory());
  return { ledger, state: await readViewState(ledger) };
}

test('given a two-run history, when listing checkpoints, then pruned ones appear only with all and marks name best and latest', async () => {
  const { state } = await sampleState();
  const kept = listCheckpoints(state);
  assert.equal(kept.map((r) => r.id), ['ckpt-2', 'ckpt-3', 'ckpt-4']);
  const all = listCheckpoints(state, { all: true });
  assert.equal(all.map((r) => `${r.id}:${r.status}`), ['ckpt-1:pruned', 'ckpt-2:kept', 'ckpt-3:kept', 'ckpt-4:kept']);
  const marks = Object.fromEntries(all.map((r) => [r.id, r.marks]));
  assert.equal(marks['ckpt-3'], ['best:val_loss']);
  assert.equal(marks['ckpt-4'], ['latest']);
  assert.equal(all[1].tags, ['baseline']);
  assert.is(all[1].pinned, true);
});

test('given refs of every kind, when resolved, then each names the expected checkpoint and unknown ones fail with CLI_REF_UNKNOWN', async () => {
  const { state } = await sampleState();
  assert.is(resolveRef(state, 'best').id, 'ckpt-3');
  assert.is(resolveRef(state, 'best:val_acc').id, 'ckpt-4');
  assert.is(resolveRef(state, 'latest').id, 'ckpt-4');
  assert.is(resolveRef(state, 'run-1/latest').id, 'ckpt-3');
  assert.is(resolveRef(state, 'epoch:2').id, 'ckpt-2');
  assert.is(resolveRef(state, 'run-2/epoch:1').id, 'ckpt-4');
  assert.is(resolveRef(state, 'ckpt-1').status, 'pruned');
  try {
    resolveRef(state, 'ckpt-99');
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, CkptError);
    assert.is((error as CkptError).code, 'CLI_REF_UNKNOWN');
  }
  assert.throws(() => resolveRef(state, 'run-9/latest'), (e: CkptError) => e.code === 'CLI_REF_UNKNOWN');
});

test('given the best checkpoint, when asking why, then the chain runs epoch → decision → commit and names the runner-up', async () => {
  const { state } = await sampleState();
  const why = whyCheckpoint(state, 'best');
  assert.is(why.id, 'ckpt-3');
  assert.equal(why.chain.map((t) => t.type).slice(0, 3), ['EpochEnded', 'SaveDecided', 'CheckpointCommitted']);
  assert.match(why.summary[0], /val_loss improved from 0\.4000 to 0\.3000/);
  const standing = why.best.find((b) => b.monitor === 'val_loss')!;
  assert.is(standing.isBest, true);
  assert.equal(standing.runnerUp, { id: 'ckpt-4', value: 0.33 });
});

test('given a pruned checkpoint, when asking why, then the prune decision and its reason are in the chain', async () => {
  const { state } = await sampleState();
  const why = whyCheckpoint(state, 'ckpt-1');
  assert.is(why.status, 'pruned');
  assert.equal(why.chain.map((t) => t.type), ['EpochEnded', 'SaveDecided', 'CheckpointCommitted', 'PruneIntended', 'CheckpointPruned']);
  assert.ok(why.summary.some((s) => /pruned: ckpt-1 left the top 2/.test(s)));
});

test('given the history, when summarising, then counts, bytes, dedupe, crashes and resumes add up', async () => {
  const { state } = await sampleState();
  const s = summaryView(state);
  assert.equal(s.checkpoints, { total: 4, kept: 3, pruned: 1, corrupt: 0, missing: 0, pinned: 1 });
  assert.is(s.bytes.logical, 1_200_000);
  assert.is(s.bytes.physical, 400_000 + 150_000 + 150_000 + 400_000 - 250_000);
  assert.is(Math.round(s.bytes.dedupeRatio! * 1000), Math.round((1_200_000 / 850_000) * 1000));
  assert.is(s.crashes, 1);
  assert.is(s.resumes, 1);
  assert.is(s.best?.checkpoint.id, 'ckpt-3');
  assert.is(s.latest?.id, 'ckpt-4');
  assert.equal(s.decisions, { save: 4, skip: 2, prune: 1 });
  assert.equal(s.runs.map((r) => `${r.id}:${r.status}`), ['run-1:finished', 'run-2:finished']);
});

test('given the history, when reading history and the log, then epochs carry decisions and the log keeps ledger order', async () => {
  const { state } = await sampleState();
  const rows = historyView(state, { run: 'run-1' });
  assert.equal(rows.map((r) => `${r.epoch}:${r.decisions.join('+')}:${r.checkpoint ?? '-'}`), ['1:save:ckpt-1', '2:save:ckpt-2', '3:skip:-', '4:save:ckpt-3', '5:skip:-']);
  const log = logView(state, { run: 'run-1', kinds: ['save', 'skip', 'prune'] });
  assert.equal(log.map((e) => e.kind), ['save', 'save', 'skip', 'save', 'prune', 'skip']);
  assert.ok(log.every((e, i) => i === 0 || e.seq > log[i - 1].seq));
  assert.is(log[2].reason, 'val_loss did not improve from 0.4000');
  assert.is(logView(state, { kinds: ['pruned'] })[0].checkpoint, 'ckpt-1');
  assert.is(decisionsView(state, { run: 'run-2' }).length, 1);
});

test('given best, latest and show, when asked, then they agree with ls and show carries lineage and digest', async () => {
  const { state } = await sampleState();
  assert.is(bestView(state)?.checkpoint.id, 'ckpt-3');
  assert.is(bestView(state, { monitor: 'val_acc' })?.mode, 'max');
  assert.is(latestView(state, { run: 'run-1' })?.id, 'ckpt-3');
  const shown = showCheckpoint(state, 'ckpt-3');
  assert.is(shown.weightsDigest, 'w3'.padEnd(64, 'a'));
  assert.equal(shown.lineage, { previous: 'ckpt-2' });
  assert.is(shown.decisionSeq, itemsOf(state.decisions).find((d) => d.epoch === 4 && d.run === 'run-1')!.seq);
});

test('given two checkpoints and their loaded weights, when diffed, then metric deltas and per-tensor L2 and max-abs are exact', async () => {
  const { state } = await sampleState();
  const d = diffView(state, 'ckpt-2', 'ckpt-3');
  assert.is(d.sameWeights, false);
  const vl = d.metrics.find((m) => m.metric === 'val_loss')!;
  assert.ok(Math.abs(vl.delta! - -0.1) < 1e-12);
  const tensor = (values: number[]) => ({ name: 'k', dtype: 'float32' as const, shape: [values.length], data: new Uint8Array(new Float32Array(values).buffer) });
  const a: CheckpointState = { objects: { model: { weights: [tensor([1, 2, 3])] } }, trainer: { epoch: 1, step: 1 }, history: [] };
  const b: CheckpointState = { objects: { model: { weights: [tensor([1, 5, -1]), { ...tensor([0]), name: 'extra' }] } }, trainer: { epoch: 2, step: 2 }, history: [] };
  const rows = tensorDiff(a, b);
  assert.is(rows[0].name, 'model/k');
  assert.is(rows[0].l2, 5);
  assert.is(rows[0].maxAbs, 4);
  assert.is(rows[1].note, 'only-in-b');
});

test('given the projection restored from a snapshot, when compared to a fold from seq 1, then the states are equal', async () => {
  const ledger = await openMemoryLedger({ projections: [catalogProjection], snapshotEvery: 5 });
  await ledger.append(sampleHistory());
  const incremental = ledger.state(catalogProjection.name);
  const rebuilt = await ledger.rebuild(catalogProjection);
  const folded = await foldViewState(ledger.read());
  assert.equal(JSON.parse(JSON.stringify(rebuilt)), JSON.parse(JSON.stringify(incremental)));
  assert.equal(JSON.parse(JSON.stringify(folded)), JSON.parse(JSON.stringify(incremental)));
  await ledger.close();
});

test('given normalized policy configs, when their monitors are read, then lists, nested and single monitors are found once', () => {
  const policy = { preset: 'normal', monitors: [{ metric: 'val_acc', mode: 'max', minDelta: 0 }], earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 3 } };
  assert.equal(monitorsOf(policy), [{ monitor: 'val_acc', mode: 'max' }, { monitor: 'val_loss', mode: 'min' }]);
  assert.equal(monitorsOf({ monitor: 'val_auc' }), [{ monitor: 'val_auc', mode: 'max' }]);
  assert.equal(monitorsOf({ keepTopK: 3, backup: null }), []);
});

test('given malformed events, when folded, then the read model skips them instead of throwing', async () => {
  const ledger = await openMemoryLedger({ projections: [catalogProjection] });
  await ledger.append([
    { stream: 'run-1', type: 'SaveDecided', data: null },
    { stream: 'run-1', type: 'EpochEnded', data: 7 },
    { stream: 'run-1', type: 'CheckpointCommitted', data: { checkpoint: 'ckpt-1', run: 'run-1', epoch: 1, step: 1 } },
    { stream: 'run-1', type: 'CheckpointTagged', data: { checkpoint: 'ckpt-1' } },
    { stream: 'run-1', type: 'CheckpointCorrupted', data: { checkpoint: 'ckpt-1' } },
  ]);
  const state = await readViewState(ledger);
  assert.is(state.lastSeq, 5);
  assert.is(listCheckpoints(state, { all: true })[0].status, 'corrupt');
  assert.is(state.decisions.length, 0);
  assert.is(itemsOf(state.decisions).length, 0);
  await ledger.close();
});



test('given a newer run that monitors another metric, when best is resolved, then plain best means its monitor', async () => {
  const ledger = await openMemoryLedger({ projections: [catalogProjection] });
  await ledger.append(sampleHistory());
  const policy = { monitors: [{ metric: 'val_acc', mode: 'max' }] };
  await ledger.append([{ stream: 'run-3', type: 'RunStarted', data: { run: 'run-3', trainer: 'mnist-mlp', trainerVersion: '0.1.0', backend: 'wasm', protocol: 1, seed: 1, epochs: 1, batchSize: 64, trainerConfig: {}, policy, pid: 1 } }]);
  const state = await readViewState(ledger);
  assert.is(primaryMonitor(state), 'val_acc');
  assert.is(resolveRef(state, 'best').id, resolveRef(state, 'best:val_acc').id);
  assert.is(resolveRef(state, 'best').id, 'ckpt-4');
});

test.run();
