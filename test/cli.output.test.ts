import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { CkptError } from '../src/errors.js';
import { LedgerError } from '../ledger/errors.js';
import { exitCodeOf, reportFailure, usageError } from '../src/cli/failure.js';
import { formatBytes, formatDelta, formatDuration, formatMetric, formatRatio } from '../src/cli/format.js';
import { Output } from '../src/cli/output.js';

function sink() {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, cb) { text += chunk; cb(); } }) as Writable & { isTTY?: boolean };
  return { stream, get text() { return text; } };
}

test('given sizes and durations, when formatted, then they carry units', () => {
  assert.is(formatBytes(999), '999 B');
  assert.is(formatBytes(1_234_567), '1.23 MB');
  assert.is(formatBytes(412_000), '412 kB');
  assert.is(formatBytes(5_500_000_000), '5.50 GB');
  assert.is(formatDuration(850), '850 ms');
  assert.is(formatDuration(2_400), '2.4 s');
  assert.is(formatDuration(125_000), '2m 05s');
  assert.is(formatDuration(3_723_000), '1h 02m');
  assert.is(formatMetric(0.29814), '0.2981');
  assert.is(formatMetric(undefined), '-');
  assert.is(formatDelta(-0.1), '-0.1000');
  assert.is(formatDelta(0.25), '+0.2500');
  assert.is(formatRatio(1.934), '1.93x');
});

test('given errors, when reported, then one line CODE: message, exit 2 for usage and 1 otherwise, stack only with debug', () => {
  const err = sink();
  const out = sink();
  assert.is(reportFailure(new CkptError('STORE_NOT_FOUND', 'no ckpt directory at x; pass --dir'), { stderr: err.stream, stdout: out.stream }), 1);
  assert.is(err.text, 'STORE_NOT_FOUND: no ckpt directory at x; pass --dir\n');
  assert.is(out.text, '');
  const locked = sink();
  assert.is(reportFailure(new LedgerError('LEDGER_LOCKED', 'owned by pid 7', { details: { pid: 7 } }), { stderr: locked.stream, stdout: out.stream, json: true }), 1);
  assert.equal(JSON.parse(out.text), { error: { code: 'LEDGER_LOCKED', message: 'owned by pid 7', details: { pid: 7 } } });
  assert.is(exitCodeOf(usageError('--epochs must be a positive integer')), 2);
  const bug = sink();
  assert.is(reportFailure(new TypeError('x is undefined'), { stderr: bug.stream, stdout: sink().stream }), 1);
  assert.match(bug.text, /^CLI_INTERNAL: x is undefined \(an unexpected error; rerun with --debug and report it\)\n$/);
  const debug = sink();
  reportFailure(new CkptError('STORE_CORRUPT', 'bad', { cause: new Error('inner') }), { stderr: debug.stream, stdout: sink().stream, debug: true });
  assert.match(debug.text, /caused by: Error: inner/);
  assert.match(debug.text, /\n\s+at /);
});

test('given a non-TTY stream, when a table prints, then columns align without colour codes', () => {
  const out = sink();
  const o = new Output({ stdout: out.stream });
  assert.is(o.color, false);
  o.table(['ID', 'EPOCH'], [['ckpt-1', '1'], ['ckpt-10', '12']], ['left', 'right']);
  assert.is(out.text, 'ID       EPOCH\nckpt-1       1\nckpt-10     12\n');
  const tty = sink();
  tty.stream.isTTY = true;
  const saved = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
  try {
    assert.is(new Output({ stdout: tty.stream }).color, true);
    assert.is(new Output({ stdout: tty.stream, json: true }).color, false);
  } finally {
    if (saved !== undefined) process.env.NO_COLOR = saved;
  }
});

test.run();
