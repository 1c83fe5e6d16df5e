/**
 * The ref contract (issue 11): for every ref form — an id, best, best:<m>, latest, epoch:N, <run>/… — over a
 * workspace with pruned, corrupt, missing and NaN / ±Infinity checkpoints, every command that takes a ref (the
 * real CLI: show, why, export, pin, tag, backup, diff, eval, verify, prune, best, latest; and the server's view
 * routes) resolves the same checkpoint or fails with the same error code. Commands that need the checkpoint's
 * bytes additionally refuse a pruned one (STORE_PRUNED) or a damaged one (STORE_CORRUPT), naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../ledger/index.js';
import { answerView } from '../src/server/view-routes.js';
import { hasCode } from '../src/errors.js';
import { ckpt, tempDir } from './cli.helpers.js';
import { buildRefsWorkspace, EXPECTED, STATUS } from './refs.fixture.js';

type Outcome = { id: string } | { code: string };

/** A tiny trainer that can evaluate any state (its loss is the first weight's first bytes). */
const EVAL_TRAINER = new URL('./fixtures/eval-trainer.ts', import.meta.url).pathname;

const tmp = tempDir('ckpt-refs-');
const pristine = join(tmp.dir, 'pristine');
await buildRefsWorkspace(pristine);
const dir = join(tmp.dir, 'ws');
cpSync(pristine, dir, { recursive: true });

let copies = 0;
function run(args: string[], pick: (doc: any) => string, where = dir): Outcome {
  const res = ckpt([...args, '--dir', where, '--json']);
  const doc = res.stdout.trim() ? JSON.parse(res.stdout) : null;
  if (doc?.error) {
    assert.is(res.code, doc.error.code === 'CLI_REF_INVALID' ? 2 : 1, `${args.join(' ')}: exit code`);
    assert.is(res.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line on stderr`);
    return { code: doc.error.code };
  }
  assert.ok(doc, `${args.join(' ')} printed nothing: ${res.stderr}`);
  return { id: pick(doc) };
}

/** The commands, each as ref → outcome, and whether it needs the checkpoint's bytes. */
const COMMANDS: { name: string; bytes: boolean; run: (ref: string) => Outcome }[] = [
  { name: 'show', bytes: false, run: (ref) => run(['show', ref], (d) => d.id) },
  { name: 'why', bytes: false, run: (ref) => run(['why', ref], (d) => d.id) },
  { name: 'pin', bytes: false, run: (ref) => run(['pin', ref], (d) => d.checkpoint) },
  { name: 'tag', bytes: false, run: (ref) => run(['tag', ref, 'contract'], (d) => d.checkpoint) },
  { name: 'export', bytes: true, run: (ref) => run(['export', ref, '--format', 'bundle', '--out', join(tmp.dir, `export-${copies++}.ckpt`)], (d) => d.checkpoint) },
  { name: 'backup', bytes: true, run: (ref) => run(['backup', ref, '--to', join(tmp.dir, 'backup')], (d) => d.checkpoint) },
  { name: 'diff', bytes: true, run: (ref) => run(['diff', ref, 'latest'], (d) => d.a.id) },
  { name: 'eval', bytes: true, run: (ref) => run(['eval', ref, '--trainer', EVAL_TRAINER], (d) => d.results[0].checkpoint) },
  {
    name: 'verify', bytes: true, run: (ref) => {
      const res = ckpt(['verify', ref, '--dir', dir, '--json']);
      const doc = JSON.parse(res.stdout);
      if (doc.error) return { code: doc.error.code };
      if (!doc.ok) {
        assert.is(res.code, 1);
        return { code: 'STORE_CORRUPT', id: doc.failed[0] } as Outcome;
      }
      return { id: doc.results[0].checkpoint };
    },
  },
  {
    // Prune changes what later refs mean, so each prune runs on its own copy of the workspace.
    name: 'prune', bytes: false, run: (ref) => {
      const copy = join(tmp.dir, `prune-${copies++}`);
      cpSync(pristine, copy, { recursive: true });
      return run(['prune', ref, '--reason', 'contract'], (d) => d.checkpoint, copy);
    },
  },
];

/** What a command that needs bytes must answer for a ref that resolves to `id`. */
function withBytes(id: string): Outcome {
  const status = STATUS[id];
  return status === 'kept' ? { id } : { code: status === 'pruned' ? 'STORE_PRUNED' : 'STORE_CORRUPT' };
}

for (const [ref, expected] of Object.entries(EXPECTED)) {
  test(`given the ref "${ref}", when every command resolves it, then each names ${'id' in expected ? expected.id : `no checkpoint (${expected.code})`}`, () => {
    for (const command of COMMANDS) {
      const outcome = command.run(ref);
      const want = 'id' in expected && command.bytes ? withBytes(expected.id) : expected;
      if (command.name === 'prune' && 'id' in expected && STATUS[expected.id] === 'pruned') {
        // Pruning an already pruned checkpoint names it, whatever the store answers (done again or refused).
        assert.ok('id' in outcome ? outcome.id === expected.id : outcome.code.startsWith('STORE_'), `prune ${ref}: ${JSON.stringify(outcome)}`);
        continue;
      }
      assert.equal(
        'code' in outcome ? { code: outcome.code } : outcome,
        'code' in want ? { code: want.code } : want,
        `${command.name} ${ref}`,
      );
    }
  });
}

test('given the plain best and latest commands, when asked with --monitor / --run, then they answer as the equivalent refs', () => {
  const cases: [string[], string][] = [
    [['best'], 'best'], [['best', '--monitor', 'val_acc'], 'best:val_acc'], [['best', '--run', 'run-2'], 'run-2/best'],
    [['best', '--monitor', 'throughput'], 'best:throughput'], [['latest'], 'latest'], [['latest', '--run', 'run-1'], 'run-1/latest'],
    [['latest', '--run', 'run-9'], 'run-9/latest'],
  ];
  for (const [args, ref] of cases) {
    const outcome = run(args, (d) => d.checkpoint?.id ?? d.id);
    assert.equal(outcome, EXPECTED[ref], args.join(' '));
  }
});

test('given the server view routes, when asked for each ref, then /api/show and /api/why answer as the CLI', async () => {
  const ledger = await openLedger(join(dir, 'ledger'));
  try {
    for (const [ref, expected] of Object.entries(EXPECTED)) {
      for (const route of ['/api/show', '/api/why']) {
        let outcome: Outcome;
        try {
          const answer = await answerView(ledger, route, new URLSearchParams({ ref }));
          outcome = { id: (answer!.body as { id: string }).id };
        } catch (error) {
          assert.ok(hasCode(error), String(error));
          outcome = { code: error.code };
        }
        assert.equal(outcome, expected, `${route} ${ref}`);
      }
    }
  } finally {
    await ledger.close();
  }
});

test('given checkpoints whose val_loss is NaN, -Infinity or +Infinity, when best is asked anywhere, then none of them is best', () => {
  const ls = ckpt(['ls', '--dir', dir, '--json']);
  const rows = JSON.parse(ls.stdout) as { id: string; marks: string[] }[];
  const marked = rows.filter((r) => r.marks.includes('best:val_loss')).map((r) => r.id);
  assert.equal(marked, ['ckpt-4']);
  const why = JSON.parse(ckpt(['why', 'ckpt-7', '--dir', dir, '--json']).stdout);
  const standing = why.best.find((b: { monitor: string }) => b.monitor === 'val_loss');
  assert.equal([standing.isBest, standing.bestId], [false, 'ckpt-4']);
  const whyBest = JSON.parse(ckpt(['why', 'best', '--dir', dir, '--json']).stdout);
  assert.is(whyBest.id, 'ckpt-4');
  assert.not.match(whyBest.summary.join('\n'), /Infinity|NaN/);
  const summary = JSON.parse(ckpt(['summary', '--dir', dir, '--json']).stdout);
  assert.is(summary.best.checkpoint.id, 'ckpt-4');
  const run2 = ckpt(['best', '--run', 'run-2', '--dir', dir]);
  assert.match(run2.stderr, /^CLI_REF_UNKNOWN: no kept checkpoint of run-2 has a finite val_loss \(ckpt-6: NaN, ckpt-7: -Infinity, ckpt-8: Infinity\); NaN and ±Infinity are never best/);
});

test.after(() => tmp.remove());
test.run();
