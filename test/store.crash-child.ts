// Child process of store.crash.test.ts: commits checkpoints (and prunes old ones) in a loop until killed.
// Prints `committed <id>` once each commit call has resolved, so the parent knows what must survive.
import { openWorkspace } from '../src/workspace.js';
import { bytes, tensor } from './store.fixtures.js';

const dir = process.argv[2];
const seed0 = Number(process.argv[3] ?? 0);
const ws = await openWorkspace(dir, { create: true });
process.stdout.write('ready\n');
for (let i = seed0; ; i++) {
  const state = {
    objects: {
      model: {
        topology: { class_name: 'Sequential', config: { layers: [] } },
        weights: [tensor('frozen/kernel', [256, 256], 1), tensor('head/kernel', [256, 128], 1000 + i), { name: 'head/bias', dtype: 'float32' as const, shape: [64], data: bytes(256, 5000 + i) }],
        optimizer: { className: 'Adam', config: {}, slots: [tensor('head/kernel/m', [256, 128], 9000 + i)], hidden: { accBeta1: 0.9 } },
      },
    },
    trainer: { epoch: i, step: i * 10 },
    history: [],
  };
  const { checkpoint } = await ws.store.commit(state, { run: 'run-1', epoch: i, step: i * 10, metrics: { loss: 1 / (i + 1) }, trainer: 'crash-child', backend: 'cpu' });
  process.stdout.write(`committed ${checkpoint}\n`);
  const catalog = ws.store.catalog();
  const kept = catalog.order.filter((id) => catalog.checkpoints[id].status === 'kept');
  if (kept.length > 3) {
    await ws.store.prune(kept[0], { reason: 'keep the newest 3' });
    process.stdout.write(`pruned ${kept[0]}\n`);
  }
}
