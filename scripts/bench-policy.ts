/**
 * `npm run bench:policy [-- --json] [-- --epochs N]`: policy reducer throughput.
 *
 * Folds N epoch events (default 1,000,000) through a policy with two monitors, top-10 + last-2 retention, hour
 * milestones and early stopping, saving every epoch. Like the supervisor, every save decision is answered with a
 * CheckpointCommitted and every prune with a CheckpointPruned, so retention runs on every epoch.
 * Baseline (same run): the same loop building the same epoch events through a trivial fold (min val_loss).
 * Target: eventsPerSec (epoch events / s, including the commits and prunes they cause) >= 1,000,000.
 * Rates use the process's CPU time (user + system), not wall time: on a shared, overloaded machine a
 * single-threaded fold is mostly waiting for a core, and wall-clock rates measure the neighbours. Wall-clock
 * rates are printed too.
 */
import type { LedgerEvent } from '../ledger/types.js';
import type { Decision } from '../src/events.js';
import { createPolicy, keptCheckpoints, type PolicyState } from '../src/policy/index.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const epochsArg = argv.indexOf('--epochs');
const EPOCHS = epochsArg >= 0 ? Number(argv[epochsArg + 1]) : 1_000_000;
const TARGET = 1_000_000;
const RUN = 'run-bench';
const MINUTE = 60_000;

const CONFIG = {
  monitors: ['val_loss', 'val_acc'],
  everyNEpochs: 1,
  keepTopK: 10,
  keepLast: 2,
  keepEveryNHours: 1,
  earlyStopping: { patience: 400, minDelta: 0 },
};

/** Deterministic noisy, slowly improving metrics (so bests and top-K keep changing). */
function metricsSeries(n: number): { loss: Float64Array; acc: Float64Array } {
  const loss = new Float64Array(n);
  const acc = new Float64Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const noise = s / 4294967296;
    loss[i] = 1 / (1 + i * 0.0005) + noise * 0.05;
    acc[i] = 1 - loss[i] / 2 + noise * 0.01;
  }
  return { loss, acc };
}

type Reducer = { init(): unknown; decide(state: unknown, e: LedgerEvent): { state: unknown; decisions: Decision[] } };

function run(reducer: Reducer, n: number, series: ReturnType<typeof metricsSeries>): { ms: number; wallMs: number; events: number; decisions: number; state: unknown } {
  let state = reducer.init();
  let seq = 0;
  let events = 0;
  let decisions = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const feed = (e: LedgerEvent): void => {
    events++;
    const r = reducer.decide(state, e);
    state = r.state;
    for (const d of r.decisions) {
      decisions++;
      if (d.kind === 'save') {
        feed({ seq: ++seq, id: `c${seq}`, stream: RUN, type: 'CheckpointCommitted', v: 1, at: e.at, data: {
          checkpoint: `ckpt-${seq}`, run: RUN, epoch: d.epoch, step: d.step, metrics: (e.data as { metrics: unknown }).metrics, labels: d.labels,
        } });
      } else if (d.kind === 'prune') {
        feed({ seq: ++seq, id: `p${seq}`, stream: RUN, type: 'CheckpointPruned', v: 1, at: e.at, data: { checkpoint: d.checkpoint, intentSeq: seq, blobsDeleted: 1, bytesFreed: 0 } });
      }
    }
  };
  feed({ seq: ++seq, id: 's', stream: RUN, type: 'RunStarted', v: 1, at: 0, data: { run: RUN } });
  for (let i = 0; i < n; i++) {
    feed({ seq: ++seq, id: `e${seq}`, stream: RUN, type: 'EpochEnded', v: 1, at: i * MINUTE, data: {
      run: RUN, epoch: i + 1, step: (i + 1) * 100, metrics: { loss: series.loss[i], val_loss: series.loss[i], val_acc: series.acc[i] }, ms: 1,
    } });
  }
  const cpu = process.cpuUsage(cpu0);
  return { ms: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, events, decisions, state };
}

const baseline: Reducer = {
  init: () => ({ best: Infinity }),
  decide: (state, e) => {
    const s = state as { best: number };
    if (e.type !== 'EpochEnded') return { state, decisions: [] };
    const v = (e.data as { metrics: Record<string, number> }).metrics.val_loss;
    return { state: v < s.best ? { best: v } : s, decisions: [] };
  },
};

const policy = createPolicy(CONFIG);
const series = metricsSeries(EPOCHS);
run(policy as unknown as Reducer, Math.min(100_000, EPOCHS), series); // warm-up
run(baseline, Math.min(100_000, EPOCHS), series);
const raw = run(baseline, EPOCHS, series);
const result = run(policy as unknown as Reducer, EPOCHS, series);
const state = result.state as PolicyState;

const eventsPerSec = Math.round(EPOCHS / (result.ms / 1000));
const baselineEventsPerSec = Math.round(EPOCHS / (raw.ms / 1000));
const out = {
  epochs: EPOCHS,
  eventsPerSec,
  allEventsPerSec: Math.round(result.events / (result.ms / 1000)),
  baselineEventsPerSec,
  ratioToBaseline: Number((eventsPerSec / baselineEventsPerSec).toFixed(3)),
  wallEventsPerSec: Math.round(EPOCHS / (result.wallMs / 1000)),
  baselineWallEventsPerSec: Math.round(EPOCHS / (raw.wallMs / 1000)),
  cpuSeconds: Number((result.ms / 1000).toFixed(3)),
  totalEvents: result.events,
  decisions: result.decisions,
  liveCheckpoints: keptCheckpoints(state).length,
  milestones: state.archived.length,
  stopped: state.progress.stopped,
  target: TARGET,
  pass: eventsPerSec >= TARGET,
};

if (json) {
  console.log(JSON.stringify(out));
} else {
  const rows: Array<[string, string, string]> = [
    ['eventsPerSec (epoch events per CPU-second)', out.eventsPerSec.toLocaleString('en-US'), `>= ${TARGET.toLocaleString('en-US')}  ${out.pass ? 'PASS' : 'MISS'}`],
    ['all events/s (epochs+commits+prunes)', out.allEventsPerSec.toLocaleString('en-US'), ''],
    ['baseline: trivial fold, epoch events/s', out.baselineEventsPerSec.toLocaleString('en-US'), ''],
    ['ratio policy / baseline', String(out.ratioToBaseline), ''],
    ['wall-clock epoch events/s (policy / baseline)', `${out.wallEventsPerSec.toLocaleString('en-US')} / ${out.baselineWallEventsPerSec.toLocaleString('en-US')}`, ''],
    ['events folded', out.totalEvents.toLocaleString('en-US'), ''],
    ['decisions', out.decisions.toLocaleString('en-US'), ''],
    ['kept checkpoints at end (of them milestones)', `${out.liveCheckpoints} (${out.milestones})`, ''],
    ['early-stopped', String(out.stopped), ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`policy: ${CONFIG.monitors.join(' + ')}, top-${CONFIG.keepTopK} + last-${CONFIG.keepLast} + milestones/${CONFIG.keepEveryNHours}h + early stopping, ${EPOCHS.toLocaleString('en-US')} epochs`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
}
