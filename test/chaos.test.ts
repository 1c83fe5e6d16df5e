/**
 * `npm run chaos` in small: three seeded fault-injection trials against real runs (a SIGKILL of the supervisor's
 * process group, a truncated write-ahead log, a nearly full tmpfs — root, as CI runs), each recovered the way a
 * user would. Every trial must end finished, with the uninterrupted run's weights and no committed checkpoint lost.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/chaos.ts', import.meta.url));

test('given three chaos trials (kill, torn log, full disk), when they are recovered, then every run finishes with the uninterrupted weights and loses no committed checkpoint', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, '--trials', '3', '--seed', '3', '--json'], { encoding: 'utf8', timeout: 540_000 });
  assert.is(res.status, 0, res.stderr);
  const report = JSON.parse(res.stdout) as { rows: { kind: string; trials: number; recovered: number; digestEqual: number; committedLost: number }[]; results: { kind: string; detail: string }[] };
  assert.equal(report.results.map((r) => r.kind), ['kill-supervisor', 'truncate-log', 'full-disk']);
  const total = report.rows.find((r) => r.kind === 'total')!;
  assert.equal({ trials: total.trials, recovered: total.recovered, digestEqual: total.digestEqual, committedLost: total.committedLost }, { trials: 3, recovered: 3, digestEqual: 3, committedLost: 0 }, JSON.stringify(report.results));
});

test.run();
