// Forked by test/ledger.level.test.ts: tries to open a ledger directory another process owns and reports
// the outcome on stdout as one JSON line.
import { openLedger } from '../ledger/index.js';

const path = process.argv[2];
try {
  const ledger = await openLedger(path);
  await ledger.close();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  const e = error as { code?: string; message: string; details?: unknown; stack?: string };
  console.log(JSON.stringify({ opened: false, code: e.code, message: e.message, details: e.details }));
}
