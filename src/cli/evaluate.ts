/**
 * Evaluating checkpoints with their trainer: spawn the trainer process, send one protocol `eval` per checkpoint
 * (no training happens), collect `eval_result` metrics. Used by `ckpt eval`.
 */
import { firstValueFrom, filter, timeout } from 'rxjs';
import type { WireState } from '../checkpoint.js';
import { inMemoryVerified } from '../store/staged.js';
import { CkptError } from '../errors.js';
import type { Metrics } from '../events.js';
import type { Evaluate } from '../protocol/index.js';
import { TrainerProcess, type TrainerOutput } from '../run/trainer-process.js';
import { resolveTrainer } from '../trainers.js';

/** A checkpoint to evaluate; its tensors may be verified blob files (sent as such to a `stage` trainer). */
export interface EvalJob { id: string; state: WireState }

/**
 * @example const results = await evaluateWithTrainer('mnist-mlp', [{ id: 'ckpt-3', state }], 'test')
 */
export async function evaluateWithTrainer(trainer: string, jobs: EvalJob[], split: Evaluate['split'], options: { timeoutMs?: number; onDone?: (id: string) => void } = {}): Promise<{ id: string; metrics: Metrics }[]> {
  const resolved = resolveTrainer(trainer);
  const proc = TrainerProcess.spawn({ command: resolved.command, args: resolved.args });
  const limit = options.timeoutMs ?? 180_000;
  const next = (match: (o: TrainerOutput) => boolean, what: string) =>
    firstValueFrom(proc.output$.pipe(filter((o) => match(o) || o.kind === 'exit' || o.kind === 'fault'), timeout(limit))).then((o) => {
      if (o.kind === 'fault') throw o.error;
      if (o.kind === 'exit') throw new CkptError('CLI_EVAL_FAILED', `trainer ${resolved.name} exited (code ${o.code}, signal ${o.signal}) while ${what}; run it with --debug or check the trainer`);
      return o;
    }, (error) => {
      throw error instanceof CkptError ? error : new CkptError('CLI_EVAL_FAILED', `trainer ${resolved.name} did not answer within ${limit / 1000} s while ${what}`, { cause: error });
    });
  try {
    const hello = await next((o) => o.kind === 'message' && o.message.type === 'hello', 'starting');
    const caps = hello.kind === 'message' && hello.message.type === 'hello' ? hello.message.capabilities : [];
    if (!caps.includes('eval')) throw new CkptError('CLI_EVAL_UNSUPPORTED', `trainer ${resolved.name} cannot evaluate (no "eval" capability); use a trainer that implements evaluate`);
    const results: { id: string; metrics: Metrics }[] = [];
    for (const [i, job] of jobs.entries()) {
      const requestId = `eval-${i + 1}`;
      const answer = next((o) => o.kind === 'message' && (o.message.type === 'eval_result' || o.message.type === 'error') && (o.message as { requestId?: string }).requestId === requestId, `evaluating ${job.id}`);
      // A `stage` trainer reads the verified blob files itself; any other gets the bytes in the frame.
      const state = caps.includes('stage') ? job.state : await inMemoryVerified(job.state);
      proc.send({ type: 'eval', requestId, state, split });
      const o = await answer;
      if (o.kind === 'message' && o.message.type === 'error') throw new CkptError('CLI_EVAL_FAILED', `trainer could not evaluate ${job.id}: ${o.message.code}: ${o.message.message}`);
      if (o.kind === 'message' && o.message.type === 'eval_result') results.push({ id: job.id, metrics: o.message.metrics });
      options.onDone?.(job.id);
    }
    proc.send({ type: 'exit' });
    proc.endInput();
    return results;
  } finally {
    const exited = proc.waitForExit();
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.endInput();
    await exited;
    clearTimeout(killer);
  }
}
