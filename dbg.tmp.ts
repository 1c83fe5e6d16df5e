import { createPolicy } from './src/policy/index.js';
const p = createPolicy({ monitors: ['val_loss','val_acc'], everyNEpochs: 1, keepTopK: 10, keepLast: 2, keepEveryNHours: 1, earlyStopping: { patience: 400 } });
let s = p.init(); let seq = 0;
const tm: Record<string, number> = {}; const cnt: Record<string, number> = {};
const feed = (e: any) => { const t0 = performance.now(); const r = p.decide(s, e); tm[e.type] = (tm[e.type] ?? 0) + performance.now() - t0; cnt[e.type] = (cnt[e.type] ?? 0) + 1; s = r.state; for (const d of r.decisions) { if (d.kind === 'save') feed({ seq: ++seq, id: 'c'+seq, stream: 'r', type: 'CheckpointCommitted', v: 1, at: e.at, data: { checkpoint: 'ckpt-'+seq, run: 'r', epoch: d.epoch, step: d.step, metrics: e.data.metrics } }); else if (d.kind === 'prune') feed({ seq: ++seq, id: 'p'+seq, stream: 'r', type: 'CheckpointPruned', v:1, at: e.at, data: { checkpoint: d.checkpoint } }); } };
feed({ seq: ++seq, id: 's', stream: 'r', type: 'RunStarted', v: 1, at: 0, data: { run: 'r' } });
const T = performance.now();
for (let i = 0; i < 30000; i++) { const l = 1/(1+i*0.0005) + ((i*7919)%100)/2000; feed({ seq: ++seq, id: 'e'+seq, stream: 'r', type: 'EpochEnded', v: 1, at: i*60000, data: { run: 'r', epoch: i+1, step: i+1, metrics: { val_loss: l, val_acc: 1-l } } }); }
console.log('total', ((performance.now() - T) * 1000 / 30000).toFixed(2), 'µs/epoch');
for (const k in tm) console.log(k, (tm[k] * 1000 / cnt[k]).toFixed(2), 'µs', cnt[k]);
