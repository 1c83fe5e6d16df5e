// A stand-in "host" for test/scale.lease.test.ts: takes the lease of a stream and prints one JSON line per
// outcome. argv: url stream ttlMs mode, where mode is `once` (try once) or `wait` (retry until taken).
import { acquireLease, LedgerError } from '../ledger/index.js';

const [url, stream, ttl, mode] = process.argv.slice(2);
const say = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const started = Date.now();
for (;;) {
  try {
    await acquireLease(url, stream, { ttlMs: Number(ttl), onLost: (e) => say({ lost: e.code }) });
    say({ held: true, pid: process.pid, waitedMs: Date.now() - started });
    break;
  } catch (error) {
    const e = error as LedgerError;
    if (mode !== 'wait') {
      say({ error: e.code, message: e.message, details: e.details });
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
// Hold until killed: the heartbeat timer is unref'd, so keep the process alive explicitly.
setInterval(() => undefined, 1 << 30);
