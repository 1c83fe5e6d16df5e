import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { archivedCheckpoints, createPolicy, keptCheckpoints } from '../src/policy/index.js';
import { Sim } from './policy.fixtures.js';

const LOSSES = [0.9, 0.5, 0.7, 0.4, 0.8, 0.6, 0.85, 0.45];

// Lightning ModelCheckpoint(monitor='val_loss', save_top_k=k): the k best are kept; ckpt also always keeps the latest.
const topKTable: Array<[string, Record<string, unknown>, number[]]> = [
  ['save_top_k 2 → best two (latest 8 is one of them)', { save_top_k: 2 }, [4, 8]],
  ['save_top_k 3', { save_top_k: 3 }, [2, 4, 8]],
  ['save_top_k -1 → all', { save_top_k: -1 }, [1, 2, 3, 4, 5, 6, 7, 8]],
  ['no retention → all', {}, [1, 2, 3, 4, 5, 6, 7, 8]],
  ['save_top_k 1 + save_last', { save_top_k: 1, save_last: true }, [4, 8]],
  ['max_to_keep 3 (tf) keeps last 3 ∪ best', { max_to_keep: 3 }, [4, 6, 7, 8]],
  ['Orbax LatestN 2 ∪ BestN 2 ∪ keep_period 3', { keepLast: 2, keepTopK: 2, keep_period: 3 }, [3, 4, 6, 7, 8]],
  ['keepTopK 2 by val_acc (max)', { monitor: 'val_acc', keepTopK: 2 }, [1, 7, 8]],
];
for (const [name, config, kept] of topKTable) {
  test(`given ${name}, when 8 epochs save, then epochs ${kept.join(',')} remain`, () => {
    const sim = new Sim(createPolicy(config));
    sim.losses(LOSSES, (i) => ({ val_acc: LOSSES[i] }));
    assert.equal(sim.liveEpochs(), kept);
    assert.equal(sim.live.length, kept.length);
  });
}

test('given save_top_k 0 + save_last (Lightning), when training runs and ends, then only the last checkpoint is saved', () => {
  const sim = new Sim(createPolicy({ save_top_k: 0, save_last: true }));
  sim.losses([0.5, 0.4, 0.3]);
  assert.equal(sim.decisions.filter((d) => d.kind === 'save').length, 0);
  sim.feed(sim.log.ended(3, 30));
  assert.equal(sim.liveEpochs(), [3]);
  assert.equal(sim.state.checkpoints[0].labels, ['last']);
});

test('given top 3, when a checkpoint leaves it, then the prune reason lists the top values in the Keras voice', () => {
  const sim = new Sim(createPolicy({ keepTopK: 3 }));
  sim.losses([0.312, 0.2981, 0.3001, 0.305, 0.29]);
  const prunes = sim.decisions.filter((d) => d.kind === 'prune');
  assert.is(prunes[0].checkpoint, 'ckpt-1');
  assert.is(prunes[0].reason, 'ckpt-1 left the top 3 by val_loss (0.3120 > 0.2981, 0.3001, 0.3050)');
  assert.is(prunes[0].threshold, 0.305);
  assert.is(prunes[0].rule, 'keepTopK');
  assert.is(prunes[1].reason, 'ckpt-4 left the top 3 by val_loss (0.3050 > 0.2900, 0.2981, 0.3001)');
});

test('given keepLast 2 without a monitored metric, when 5 checkpoints commit, then the oldest leave the last 2 (tf max_to_keep)', () => {
  const sim = new Sim(createPolicy({ keepLast: 2 }));
  for (let e = 1; e <= 5; e++) sim.epoch(e, { loss: 1 / e });
  assert.equal(sim.liveEpochs(), [4, 5]);
  const prune = sim.decisions.find((d) => d.kind === 'prune')!;
  assert.is(prune.reason, 'ckpt-1 left the last 2 (ckpt-2, ckpt-3)');
});

test('given keep_checkpoint_every_n_hours 1 + max_to_keep 2 and saves every 20 min, then 60 and 120 min are kept forever', () => {
  const sim = new Sim(createPolicy({ max_to_keep: 2, keep_checkpoint_every_n_hours: 1 }));
  const t0 = sim.log.at;
  for (let i = 1; i <= 8; i++) sim.epoch(i, { loss: 1 }, { at: t0 + i * 20 * 60_000 });
  const minutes = keptCheckpoints(sim.state).map((c) => (c.at - t0) / 60_000);
  assert.equal(minutes, [60, 120, 140, 160]);
  assert.equal(archivedCheckpoints(sim.state).map((c) => c.epoch), [3, 6]);
  assert.ok(archivedCheckpoints(sim.state).every((c) => c.milestone));
});

test('given more milestones than one archive chunk holds, when one in the middle is corrupted, verified and pruned by hand, then the archive keeps commit order and the rest', () => {
  const sim = new Sim(createPolicy({ keepLast: 1, keep_period: 1 }));
  for (let e = 1; e <= 300; e++) sim.epoch(e, { loss: 1 / e, val_loss: 1 / e });
  assert.equal(archivedCheckpoints(sim.state).map((c) => c.epoch), Array.from({ length: 300 }, (_, i) => i + 1));
  const id = archivedCheckpoints(sim.state)[200].id;
  sim.feed(sim.log.push('CheckpointCorrupted', { checkpoint: id, blob: 'b', expected: 'x', actual: 'y', detail: 'd' }));
  assert.is(archivedCheckpoints(sim.state)[200].healthy, false);
  sim.feed(sim.log.push('CheckpointVerified', { checkpoint: id, blobs: 1, bytes: 1 }));
  assert.is(archivedCheckpoints(sim.state)[200].healthy, true);
  sim.feed(sim.log.push('CheckpointPruned', { checkpoint: id, intentSeq: 0, blobsDeleted: 1, bytesFreed: 1 }));
  const epochs = archivedCheckpoints(sim.state).map((c) => c.epoch);
  assert.is(epochs.length, 299);
  assert.ok(!epochs.includes(201));
  assert.equal(epochs, [...epochs].sort((a, b) => a - b));
  sim.epoch(301, { loss: 0.001, val_loss: 0.001 });
  assert.is(archivedCheckpoints(sim.state).at(-1)!.epoch, 301);
});

// tf checkpoint_management_test.py testClockReset: checkpoints stamped after the (reset) clock are kept — "err on
// the side of keeping checkpoints around when we're not sure whether they were preserved".
test('given hour milestones, when the clock jumps backwards in event time, then the future-stamped checkpoint is kept and milestones resume one hour after the jump', () => {
  const sim = new Sim(createPolicy({ max_to_keep: 1, keep_checkpoint_every_n_hours: 1 }));
  const t0 = sim.log.at;
  const at = (mins: number) => t0 + mins * 60_000;
  [30, 60, 90].forEach((m, i) => sim.epoch(i + 1, { loss: 1 }, { at: at(m) }));
  // Clock set back by 5 hours; without the reset nothing would be preserved for 5+ hours of real time.
  [-240, -210, -180, -170, -150].forEach((m, i) => sim.epoch(i + 4, { loss: 1 }, { at: at(m) }));
  const milestones = archivedCheckpoints(sim.state).map((c) => (c.at - t0) / 60_000);
  assert.equal(milestones, [60, 90, -180]);
  assert.is(sim.state.preservedAt, at(-180));
});

test('given a pinned checkpoint, when it leaves retention, then it is kept until unpinned, then pruned with the unpin as cause', () => {
  const sim = new Sim(createPolicy({ keepLast: 1 }));
  sim.epoch(1, { loss: 1 });
  sim.feed(sim.log.push('CheckpointPinned', { checkpoint: 'ckpt-1' }, undefined, 'store'));
  for (let e = 2; e <= 4; e++) sim.epoch(e, { loss: 1 });
  assert.equal(sim.liveEpochs(), [1, 4]);
  const unpin = sim.log.push('CheckpointUnpinned', { checkpoint: 'ckpt-1' });
  const out = sim.feed(unpin);
  assert.equal(out.filter((d) => d.kind === 'prune').map((d) => [d.checkpoint, d.causeSeq]), [['ckpt-1', unpin.seq]]);
  assert.equal(sim.liveEpochs(), [4]);
});

test('given the best checkpoint, when keepLast 1 would drop it, then it is protected as the current best', () => {
  const sim = new Sim(createPolicy({ keepLast: 1 }));
  sim.losses([0.9, 0.1, 0.5, 0.6, 0.7]);
  assert.equal(sim.liveEpochs(), [2, 5]);
});

test('given the best checkpoint is corrupted, when later commits arrive, then it is no longer best and is pruned', () => {
  const sim = new Sim(createPolicy({ keepTopK: 1 }));
  sim.losses([0.9, 0.1, 0.5]);
  assert.equal(sim.liveEpochs(), [2, 3]);
  sim.feed(sim.log.push('CheckpointCorrupted', { checkpoint: 'ckpt-2', blob: 'ab', expected: 'ab', actual: 'cd', detail: 'hash' }));
  const out = sim.epoch(4, { val_loss: 0.6 });
  const prunes = out.filter((d) => d.kind === 'prune');
  assert.equal(prunes.map((d) => d.checkpoint), ['ckpt-2']);
  assert.is(prunes[0].reason, 'ckpt-2 failed verification; not eligible for the top 1 by val_loss');
  assert.equal(sim.liveEpochs(), [3, 4]);
  assert.equal(sim.epoch(5, { val_loss: 0.7 }).filter((d) => d.kind === 'prune').map((d) => d.checkpoint), ['ckpt-4']);
  assert.equal(sim.liveEpochs(), [3, 5]);
});

test('given a run resumed from an old checkpoint, when retention runs, then that checkpoint is never pruned', () => {
  const sim = new Sim(createPolicy({ keepLast: 1 }));
  sim.epoch(1, { loss: 1 });
  sim.epoch(2, { loss: 1 });
  sim.epoch(3, { loss: 1 });
  assert.equal(sim.liveEpochs(), [3]);
  sim.feed(sim.log.push('CheckpointVerified', { checkpoint: 'ckpt-3', blobs: 1, bytes: 1 }));
  sim.feed(sim.log.push('RunResumed', { run: 'run-1', fromCheckpoint: 'ckpt-3', epoch: 3, step: 30, attempt: 1, reason: 'resume' }));
  sim.epoch(4, { loss: 1 });
  sim.epoch(5, { loss: 1 });
  assert.equal(sim.liveEpochs(), [3, 5]);
});

test('given backup onBest + atEnd, when checkpoints commit and training ends, then backups are decided for new bests and the final one', () => {
  const sim = new Sim(createPolicy({ save_last: true, backup: { target: '/backups', onBest: true, atEnd: true } }));
  sim.losses([0.5, 0.6, 0.4]);
  sim.feed(sim.log.ended(3, 30));
  const backups = sim.decisions.filter((d) => d.kind === 'backup');
  assert.equal(backups.map((d) => [d.checkpoint, d.rule, d.target]), [['ckpt-1', 'backupOnBest', '/backups'], ['ckpt-3', 'backupOnBest', '/backups']]);
  const sim2 = new Sim(createPolicy({ save_best_only: true, save_last: true, backup: { target: '/b', everyN: 2, atEnd: true } }));
  sim2.losses([0.5, 0.4, 0.3, 0.35]);
  sim2.feed(sim2.log.ended(4, 40));
  assert.equal(sim2.decisions.filter((d) => d.kind === 'backup').map((d) => [d.checkpoint, d.rule]), [['ckpt-2', 'backupEveryN'], ['ckpt-4', 'backupEveryN']]);
  assert.equal(sim2.state.checkpoints.at(-1)!.labels, ['last']);
});

test('given backup atEnd only, when training ends on an already saved epoch, then the newest checkpoint is backed up at once', () => {
  const sim = new Sim(createPolicy({ backup: { target: '/b', atEnd: true } }));
  sim.losses([0.5, 0.6]);
  const out = sim.feed(sim.log.ended(2, 20));
  assert.equal(out.map((d) => [d.kind, d.checkpoint, d.rule]), [['backup', 'ckpt-2', 'backupAtEnd']]);
});

test.run();
