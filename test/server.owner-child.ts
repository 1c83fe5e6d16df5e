/**
 * A real owner process for the server suites: opens a ckpt directory (LevelDB lock), serves it, fills it with
 * a scripted run, prints `{"url", "port", "pid", "lastSeq"}` on stdout, then obeys stdin lines:
 * `append <run> <epochs>` (prints the new lastSeq), `exit` (process.exit without closing: the exit hook must
 * remove owner.json). Usage: node --import tsx test/server.owner-child.ts <dir> [epochs]
 */
import { createInterface } from 'node:readline';
import { openWorkspace } from '../src/workspace.js';
import { startOwnerServer } from '../src/server/index.js';
import { fillLedger, runBatches } from './server.fixture.js';

const [dir, epochs = '4'] = process.argv.slice(2);
const workspace = await openWorkspace(dir, { create: true });
await fillLedger(workspace.ledger, { epochs: Number(epochs) });
const server = await startOwnerServer(workspace, { page: true });
console.log(JSON.stringify({ url: server.url, port: server.port, pid: process.pid, lastSeq: workspace.ledger.lastSeq }));
for await (const line of createInterface({ input: process.stdin })) {
  const [command, run, count] = line.trim().split(/\s+/);
  if (command === 'append') {
    for (const batch of runBatches({ run, epochs: Number(count) }, workspace.ledger.lastSeq + 1)) await workspace.ledger.append(batch, { durable: true });
    console.log(JSON.stringify({ lastSeq: workspace.ledger.lastSeq }));
  } else if (command === 'exit') {
    process.exit(0);
  } else if (command === 'close') {
    await server.close();
    await workspace.close();
    process.exit(0);
  }
}
