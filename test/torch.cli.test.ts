// PyTorch runs as people use them: torch_mnist under early stopping with restore-best, `ckpt eval` ranking its
// checkpoints on the test split, a safetensors export loaded into a fresh model, and a user's own loop on
// ckpt_torch.Run under `ckpt train`, then inspected and loaded from a separate script (seed 002's calls).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../src/run/train.js';
import { ledgerFacts, tempDir } from './fixtures/run-helpers.js';
import { ckpt } from './cli.helpers.js';
import { python, TORCH_CONFIG, TORCH_MNIST, TORCH_SDK } from './torch.helpers.js';

const ws = tempDir('ckpt-torch-cli-');
const user = tempDir('ckpt-torch-user-');
test.after(() => { ws.cleanup(); user.cleanup(); });

// Keras EarlyStopping: an improvement must beat the best by more than minDelta; stop when `patience` epochs pass without.
const MIN_DELTA = 0.3;
const policy = { monitor: 'val_loss', everyNEpochs: 1, keepTopK: 5, earlyStopping: { patience: 1, minDelta: MIN_DELTA, restoreBestWeights: true } };

test('given torch_mnist with early stopping and restoreBestWeights, when val_loss stops improving by minDelta, then the run stops and ends with the best epoch\'s weights', async () => {
  const result = await train({ dir: ws.dir, trainer: TORCH_MNIST, epochs: 12, seed: 3, batchSize: 50, policy, batchEvery: 5, out: null, handleSignals: false, trainerConfig: TORCH_CONFIG });
  assert.is(result.exitCode, 0, JSON.stringify(result.error));
  const facts = await ledgerFacts(ws.dir);
  const epochs = facts.events.filter((e) => e.type === 'EpochEnded').map((e) => e.data as { epoch: number; metrics: { val_loss: number } });
  let best = { epoch: 0, value: Infinity };
  let stopAt = 0;
  for (const e of epochs) {
    if (e.metrics.val_loss < best.value - MIN_DELTA) best = { epoch: e.epoch, value: e.metrics.val_loss };
    else if (!stopAt) stopAt = e.epoch;
  }
  assert.ok(stopAt > 0 && stopAt < 12, `the policy has an epoch to stop at (val_loss ${epochs.map((e) => e.metrics.val_loss.toFixed(3))})`);
  assert.is(facts.count('StopDecided'), 1);
  assert.ok(result.epoch < 12, `stopped early (epoch ${result.epoch})`);
  assert.is((facts.events.find((e) => e.type === 'TrainingEnded')!.data as { reason: string }).reason, 'early-stop');
  const restore = facts.events.find((e) => e.type === 'RestoreDecided')!.data as { checkpoint: string };
  const target = facts.events.find((e) => e.type === 'CheckpointCommitted' && (e.data as { checkpoint: string }).checkpoint === restore.checkpoint)!.data as { epoch: number; weightsDigest: string };
  assert.is(target.epoch, best.epoch, 'the restored checkpoint is the early-stopping best');
  assert.is(result.weightsDigest, target.weightsDigest, 'the run ends with the best checkpoint\'s weights');
  assert.ok(facts.kept.every((k) => k.ok));
});

let ranked: Array<{ rank: number; checkpoint: string; epoch: number; metrics: { loss: number; acc: number } }> = [];

test('given torch checkpoints, when ckpt eval ranks them on the test split, then the ranking follows test loss and each number is what the model scores when loaded from a script', () => {
  const ids = (JSON.parse(ckpt(['ls', '--dir', ws.dir, '--json']).stdout) as Array<{ id: string }>).map((r) => r.id);
  assert.ok(ids.length >= 2, `checkpoints to rank: ${ids}`);
  const res = ckpt(['eval', ...ids, '--split', 'test', '--trainer', TORCH_MNIST, '--dir', ws.dir, '--json']);
  assert.is(res.code, 0, res.stderr);
  const doc = JSON.parse(res.stdout);
  ranked = doc.results;
  assert.is(ranked.length, ids.length);
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].metrics.loss <= ranked[i].metrics.loss, 'ranked by test loss, lowest first');
  // Independently: load each checkpoint as a user would and measure it on the same 200 test digits.
  const measured = JSON.parse(python([
    'import json, sys, ckpt_torch, torch_mnist',
    `cfg = {**torch_mnist.DEFAULTS, **${JSON.stringify(TORCH_CONFIG)}}`,
    'x, y = torch_mnist.load_data(cfg)["test"]; out = {}',
    `for ref in ${JSON.stringify(ids)}:`,
    '    model = torch_mnist.build_model(cfg)',
    `    info = ckpt_torch.load(ref, model, dir=${JSON.stringify(ws.dir)})`,
    '    out[info["checkpoint"]] = torch_mnist.measure(model, x, y)',
    'print(json.dumps(out))',
  ].join('\n')));
  for (const r of ranked) assert.equal([r.metrics.loss, r.metrics.acc], measured[r.checkpoint], r.checkpoint);
});

test('given a torch checkpoint exported as safetensors, when loaded into a fresh model with the SDK\'s reader, then names are the state_dict\'s and predictions are identical', () => {
  const file = join(ws.dir, 'best.safetensors');
  const res = ckpt(['export', ranked[0].checkpoint, '--format', 'safetensors', '--out', file, '--dir', ws.dir, '--json']);
  assert.is(res.code, 0, res.stderr);
  const out = JSON.parse(python([
    'import json, hashlib, torch, ckpt_torch, torch_mnist, safetensors_torch',
    `cfg = {**torch_mnist.DEFAULTS, **${JSON.stringify(TORCH_CONFIG)}}`,
    'x, y = torch_mnist.load_data(cfg)["test"]',
    'fresh = torch_mnist.build_model(cfg)',
    `tensors, meta = safetensors_torch.load_file(${JSON.stringify(file)})`,
    `safetensors_torch.load_into(fresh, ${JSON.stringify(file)})`,
    'ref = torch_mnist.build_model(cfg)',
    `ckpt_torch.load(${JSON.stringify(ranked[0].checkpoint)}, ref, dir=${JSON.stringify(ws.dir)})`,
    'fresh.eval(); ref.eval()',
    'with torch.no_grad(): a, b = fresh(x), ref(x)',
    'print(json.dumps({"names": sorted(tensors), "own": sorted(fresh.state_dict()), "checkpoint": meta["ckpt.checkpoint"],',
    '  "same": bool(torch.equal(a, b)), "digest": hashlib.sha256(a.numpy().tobytes()).hexdigest(), "measured": torch_mnist.measure(fresh, x, y)}))',
  ].join('\n')));
  assert.equal(out.names, ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
  assert.equal(out.names, out.own);
  assert.is(out.checkpoint, ranked[0].checkpoint);
  assert.ok(out.same, 'logits of the safetensors model equal those of the checkpoint loaded through ckpt_torch.load');
  assert.equal(out.measured, [ranked[0].metrics.loss, ranked[0].metrics.acc], 'and the test metrics ckpt eval computed from the stored state');
});

// A user's own script: a different model, SGD with momentum, an ExponentialLR, a GradScaler (disabled on CPU), a Dataset.
const USER_LOOP = `
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import TensorDataset
import ckpt_torch

cfg = ckpt_torch.start(defaults={'epochs': 3, 'batchSize': 16, 'lr': 0.05})
g = torch.Generator().manual_seed(1234)                      # the data is fixed; the run's seed drives the rest
x = torch.randn(256, 8, generator=g); y = (x.sum(1) > 0).long()
val_x = torch.randn(64, 8, generator=g); val_y = (val_x.sum(1) > 0).long()
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=cfg['lr'], momentum=0.9)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
scaler = torch.cuda.amp.GradScaler(enabled=False)
run = ckpt_torch.Run(model, optimizer, scheduler=scheduler, scaler=scaler)
for epoch in run.epochs():
    model.train()
    for xb, yb in run.batches(TensorDataset(x, y), batch_size=cfg['batchSize']):
        optimizer.zero_grad()
        out = model(xb); loss = F.cross_entropy(out, yb)
        loss.backward(); optimizer.step()
        run.track(len(yb), loss=loss.item() * len(yb), acc=(out.argmax(1) == yb).sum().item())
    scheduler.step()
    model.eval()
    with torch.no_grad():
        out = model(val_x)
    run.epoch_end({**run.means(), 'val_loss': F.cross_entropy(out, val_y).item(), 'val_acc': (out.argmax(1) == val_y).float().mean().item()})
print('loop finished at epoch', run.epoch)
`;

test('given a user\'s own loop on ckpt_torch.Run (dropout, SGD momentum, a scheduler, a scaler, a Dataset), when run by ckpt train, then every epoch is checkpointed and the run finishes', () => {
  writeFileSync(join(user.dir, 'my_loop.py'), USER_LOOP);
  const res = ckpt(['train', '--trainer', join(user.dir, 'my_loop.py'), '--dir', join(user.dir, 'ckpts'), '--epochs', '4', '--seed', '9', '--policy', 'normal', '--json'], { env: { PYTHONPATH: TORCH_SDK } });
  assert.is(res.code, 0, res.stderr);
  const result = JSON.parse(res.stdout);
  assert.is(result.status, 'finished');
  assert.is(result.epoch, 4);
  assert.match(res.stderr, /save +epoch 4/);
});

test('given that run, when a separate script lists, compares, tags and loads checkpoints (seed 002\'s calls), then it gets the ledger\'s facts and the exact stored weights and optimizer', () => {
  const dir = join(user.dir, 'ckpts');
  const out = JSON.parse(python([
    'import json, hashlib, torch, torch.nn as nn, ckpt_torch',
    `d = ${JSON.stringify(dir)}`,
    'rows = ckpt_torch.checkpoints(dir=d)',
    'table = ckpt_torch.compare([r["id"] for r in rows], dir=d)["metrics_comparison"]',
    'ckpt_torch.tag("best", ["demo", "experiment"], description="First successful training run", dir=d)',
    'model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))',
    'optimizer = torch.optim.SGD(model.parameters(), lr=0.5)',
    'info = ckpt_torch.load("best", model, optimizer, dir=d)',
    'h = hashlib.sha256()',
    '# docs/format.md: weightsDigest is the sha256 over each weight tensor\'s sha256',
    'for t in model.state_dict().values(): h.update(hashlib.sha256(t.numpy().tobytes()).digest())',
    'try:',
    '    ckpt_torch.load("ckpt-999", model, dir=d); missing = None',
    'except ckpt_torch.CkptError as e:',
    '    missing = e.code',
    'print(json.dumps({"rows": rows, "table": table, "info": info, "digest": h.hexdigest(), "lr": optimizer.param_groups[0]["lr"],',
    '  "momentum": optimizer.param_groups[0]["momentum"], "buffers": len(optimizer.state), "shown": ckpt_torch.show("best", dir=d), "missing": missing,',
    '  "verified": ckpt_torch.verify(dir=d), "summary": ckpt_torch.summary(dir=d)}))',
  ].join('\n')));
  const best = (out.rows as Array<{ id: string; marks: string[]; weightsDigest: string; epoch: number; metrics: Record<string, number> }>).find((r) => r.marks.includes('best:val_loss'))!;
  assert.ok(best, 'ls marks a best checkpoint');
  assert.is(out.info.checkpoint, best.id);
  assert.is(out.info.epoch, best.epoch);
  assert.equal(out.info.metrics, best.metrics);
  assert.is(out.digest, best.weightsDigest, 'the model holds exactly the stored weights');
  let lr = 0.05;
  for (let e = 0; e < best.epoch; e++) lr *= 0.9; // ExponentialLR multiplies the group's lr once per epoch
  assert.is(out.lr, lr, 'the optimizer\'s param group comes back as saved');
  assert.is(out.momentum, 0.9);
  assert.is(out.buffers, 4, 'momentum buffers for the 4 parameters');
  for (const r of out.rows) assert.is(out.table.val_loss[r.id], r.metrics.val_loss);
  assert.equal(out.shown.tags, ['demo', 'experiment']);
  assert.is(out.shown.description, 'First successful training run');
  assert.is(out.missing, 'CLI_REF_UNKNOWN');
  assert.equal([out.verified.ok, out.verified.checked, out.verified.failed], [true, out.rows.length, []]);
  assert.is(out.summary.best.checkpoint.id, best.id);
  assert.is(out.summary.checkpoints.kept, out.rows.length);
});

test('given a damaged blob of one checkpoint, when a script calls ckpt_torch.verify (seed 002\'s validate_checkpoint), then it answers ok false naming that checkpoint', () => {
  const dir = join(user.dir, 'ckpts');
  const rows = JSON.parse(ckpt(['ls', '--dir', dir, '--json']).stdout) as Array<{ id: string; marks: string[] }>;
  const victim = rows.find((r) => r.marks.length === 0)!;
  const manifest = (JSON.parse(ckpt(['show', victim.id, '--dir', dir, '--json']).stdout) as { manifest: string }).manifest;
  const file = join(dir, 'objects', manifest.slice(0, 2), manifest.slice(2));
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(file, bytes);
  const out = JSON.parse(python(`import json, ckpt_torch\nprint(json.dumps(ckpt_torch.verify(dir=${JSON.stringify(dir)})))`));
  assert.is(out.ok, false);
  assert.equal(out.failed, [victim.id]);
});

test.run();
