// A trainer named up front starts before the workspace is open, so it loads its framework while the run is
// prepared. When the run cannot start after all (the directory is owned by another process, the policy does not
// load) that trainer is ended, never left behind; a run that does start is trained by that very process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train, type TrainOptions } from '../src/run/train.js';
import { openWorkspace } from '../src/workspace.js';
import { FAKE_TRAINER, ledgerFacts, tempDir, testPorts } from './fixtures/run-helpers.js';
import { isPidAlive } from '../src/server/owner-file.js';

const base: TrainOptions = {
  trainer: FAKE_TRAINER, epochs: 2, seed: 3, batchEvery: 0, out: null, handleSignals: false, maxRestarts: 0,
  trainerConfig: { batchesPerEpoch: 4, batchMs: 2 },
};

test('given a directory another owner holds, when train starts, then it fails and the trainer it spawned ahead is gone', async () => {
  const t = tempDir();
  const owner = await openWorkspace(t.dir, { create: true });
  const spawned: number[] = [];
  try {
    const result = await train({ ...base, dir: t.dir, onTrainerSpawn: (pid) => spawned.push(pid) });
    assert.is(result.exitCode, 1);
    assert.is(result.error?.code, 'LEDGER_LOCKED');
    assert.is(spawned.length, 1, 'the named trainer was spawned ahead');
    assert.not.ok(isPidAlive(spawned[0]), `trainer ${spawned[0]} was left running`);
  } finally {
    for (const pid of spawned) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    await owner.close();
    t.cleanup();
  }
});

test('given a policy file that does not exist, when train starts, then it fails and the trainer it spawned ahead is gone', async () => {
  const t = tempDir();
  const spawned: number[] = [];
  try {
    const result = await train({ ...base, dir: t.dir, policy: `${t.dir}/no-such-policy.json`, onTrainerSpawn: (pid) => spawned.push(pid) });
    assert.is(result.exitCode, 1);
    assert.ok(result.error?.code, 'a coded error');
    assert.is(spawned.length, 1);
    assert.not.ok(isPidAlive(spawned[0]), `trainer ${spawned[0]} was left running`);
  } finally {
    for (const pid of spawned) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    t.cleanup();
  }
});

test('given a trainer named up front, when the run starts, then the trainer spawned ahead is the one that trains it', async () => {
  const t = tempDir();
  const spawned: number[] = [];
  try {
    const result = await train({ ...base, ports: testPorts(), dir: t.dir, onTrainerSpawn: (pid) => spawned.push(pid) });
    assert.is(result.exitCode, 0, result.error?.message);
    assert.is(result.status, 'finished');
    assert.is(spawned.length, 1, 'no second trainer was started');
    const facts = await ledgerFacts(t.dir);
    assert.is(facts.count('RunStarted'), 1);
    assert.is(facts.count('RunFinished'), 1);
    assert.ok(facts.committed.length >= 1);
  } finally {
    t.cleanup();
  }
});

test.run();
