// Spawned (and SIGKILLed) by test/ledger.crash.test.ts: appends batches to a ledger forever (a projection
// snapshots every 25 events, in the same batches) and, after each append resolves, reports it on stdout:
// "D <batch> <size>" for durable batches, "N <batch> <size>" for the others.
import { openLedger } from '../ledger/index.js';
import { CRASH_SNAPSHOT_EVERY, crashCounts } from './ledger.crash-projection.js';

const [path, tag] = process.argv.slice(2);
const ledger = await openLedger(path, { projections: [crashCounts], snapshotEvery: CRASH_SNAPSHOT_EVERY });
process.stdout.write(`ready ${ledger.lastSeq}\n`);
const payload = 'x'.repeat(300);
for (let n = 0; ; n++) {
  const batch = `${tag}-${n}`;
  const size = 1 + ((n * 7919) % 40);
  const durable = n % 3 !== 2;
  await ledger.append(
    Array.from({ length: size }, (_, index) => ({ id: `${batch}-${index}`, stream: tag, type: 'Piece', data: { batch, index, size, payload } })),
    { durable },
  );
  process.stdout.write(`${durable ? 'D' : 'N'} ${batch} ${size}\n`);
}
