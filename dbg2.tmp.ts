import { createPolicy } from './src/policy/index.js';
function bench(name: string, cfg: any, commit: boolean, n = 100000) {
  const p = createPolicy(cfg);
  let s = p.init(); let seq = 0;
  const feed = (e: any) => { const r = p.decide(s, e); s = r.state; if (!commit) return; for (const d of r.decisions) { if (d.kind === 'save') feed({ seq: ++seq, id: 'c'+seq, stream: 'r', type: 'CheckpointCommitted', v: 1, at: e.at, data: { checkpoint: 'ckpt-'+seq, run: 'r', epoch: d.epoch, step: d.step, metrics: e.data.metrics } }); else if (d.kind === 'prune') feed({ seq: ++seq, id: 'p'+seq, stream: 'r', type: 'CheckpointPruned', v:1, at: e.at, data: { checkpoint: d.checkpoint } }); } };
  feed({ seq: ++seq, id: 's', stream: 'r', type: 'RunStarted', v: 1, at: 0, data: { run: 'r' } });
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) { const l = 1/(1+i*0.0005) + ((i*7919)%100)/2000; feed({ seq: ++seq, id: 'e'+seq, stream: 'r', type: 'EpochEnded', v: 1, at: i*60000, data: { run: 'r', epoch: i+1, step: i+1, metrics: { val_loss: l, val_acc: 1-l } } }); }
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(30), ((c.user + c.system) / n).toFixed(2), 'µs cpu/epoch');
}
for (let r = 0; r < 2; r++) {
bench('epoch only, best-only', { monitors: ['val_loss','val_acc'], saveBestOnly: true }, false);
bench('epoch only, every epoch', { monitors: ['val_loss','val_acc'], everyNEpochs: 1 }, false);
bench('commit, no retention', { monitors: ['val_loss','val_acc'], everyNEpochs: 1, keepTopK: -1 }, true, 20000);
bench('commit, keepLast 2', { monitors: ['val_loss','val_acc'], everyNEpochs: 1, keepLast: 2 }, true);
bench('commit, top10+last2', { monitors: ['val_loss','val_acc'], everyNEpochs: 1, keepTopK: 10, keepLast: 2 }, true);
bench('full', { monitors: ['val_loss','val_acc'], everyNEpochs: 1, keepTopK: 10, keepLast: 2, keepEveryNHours: 1, earlyStopping: { patience: 400 } }, true);
}
