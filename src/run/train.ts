/**
 * `train()`: the supervisor end to end. Opens the workspace (and so owns the ledger), recovers a run that
 * ended uncleanly (RunCrashed), starts or resumes a run, supervises trainer processes with restarts and
 * backoff, handles SIGINT/SIGTERM, and returns an exit code for the CLI.
 *
 * @example
 *   const result = await train({ dir: './checkpoints', trainer: 'mnist-mlp', epochs: 5, seed: 42 });
 *   process.exitCode = result.exitCode;
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Ledger } from '../../ledger/types.js';
import { CkptError, hasCode } from '../errors.js';
import type { Lease } from '../../ledger/index.js';
import { leaseNamedRun } from '../store/locations.js';
import type { RunCrashed, RunFinished } from '../events.js';
import { latestRun, nextRunId, runProgram } from '../projections/catalog.js';
import { readViewState } from '../views/read.js';
import { startOwnerServer, type OwnerServer } from '../server/owner-server.js';
import { BUILTIN_TRAINERS, resolveTrainer } from '../trainers.js';
import { restartDelayMs, sleep } from './backoff.js';
import { createProgress, silentProgress, type RunProgress } from './progress.js';
import { SaveQueue } from './save-queue.js';
import { recordStopped, recordUncleanEnd } from './run-records.js';
import { RunSession, type SessionOutcome, type SessionStart } from './session.js';
import { removeStagingDirs } from '../store/staged.js';
import { TrainerProcess } from './trainer-process.js';
import type { TrainPorts } from './ports.js';
import { defaultPorts } from './workspace-ports.js';
import { plural } from '../text.js';

export interface TrainOptions {
  /** Workspace directory (ledger + store). Default `./checkpoints`. */
  dir?: string;
  /** `mnist-mlp`, `mnist-cnn`, or a path to a trainer program. Default `mnist-mlp` (or the resumed run's). */
  trainer?: string;
  epochs?: number;
  seed?: number;
  batchSize?: number;
  /** A preset name, a path to a policy JSON file, or a policy object. Default `normal`. */
  policy?: string | Record<string, unknown>;
  /** true: continue the newest unfinished run; false: always start a new run; default: continue a crashed run. */
  resume?: boolean;
  /** Start or resume this run by name instead of the newest one; required with a shared ledger (docs/scale.md). */
  run?: string;
  /** Trainer crashes to recover from by resuming, with exponential backoff. Default 3. */
  maxRestarts?: number;
  /** First restart delay (doubles each time, capped at 10 s). Default 500 ms. */
  restartBackoffMs?: number;
  /** Serve the ledger (HTTP API, SSE, dashboard page) while training. Default: API only, no page. */
  serve?: boolean;
  port?: number;
  /** With `serve`: the token the page's writes need (default: a fresh one), or `readOnly` to refuse writes. */
  serveWrites?: { writeToken?: string; readOnly?: boolean };
  /** Human output (progress bars on a TTY, decision lines always). Default process.stdout; null = silent. */
  out?: NodeJS.WritableStream | null;
  /** Install SIGINT/SIGTERM handlers (final checkpoint, RunStopped, exit 130/143). Default true. */
  handleSignals?: boolean;
  /** Extra trainer configuration sent in `start.config` (e.g. `trainSize`, `batchesPerEpoch`). */
  trainerConfig?: Record<string, unknown>;
  /** Send `batch_end` every N batches (progress bar, BatchEnded events); 0 = never. Default 10. */
  batchEvery?: number;
  /** Called with each trainer process id as it is spawned (tests kill it). */
  onTrainerSpawn?: (pid: number) => void;
  /** `helloMs`: how long a new trainer may take to say hello (default 15 s; `--hello-timeout`). */
  timeouts?: Partial<{ helloMs: number; stateMs: number; exitMs: number }>;
  /** Replace the workspace/policy wiring (tests). */
  ports?: TrainPorts;
}

/** Exit code of a run that finished with saves that failed (SaveFailed) and a policy that does not tolerate them. */
export const EXIT_SAVES_FAILED = 3;

export interface TrainResult {
  exitCode: 0 | 1 | typeof EXIT_SAVES_FAILED | 130 | 143;
  run: string | null;
  status: 'finished' | 'stopped' | 'failed';
  /** Decided saves that were never committed (see RunFinished.failedSaves). */
  failedSaves?: number;
  epoch: number;
  step: number;
  weightsDigest: string | null;
  /** Trainer restarts this call made after crashes. */
  restarts: number;
  /** URL of the owner server while it ran, when one was started. */
  url?: string;
  error?: { code: string; message: string };
}

/** `ckpt train`'s defaults; `ckpt repair` assumes them for a run whose start was lost. */
export const DEFAULTS = { trainer: 'mnist-mlp', epochs: 5, seed: 42, batchSize: 32, policy: 'normal', maxRestarts: 3, batchEvery: 10 };

/** Train (or resume) a run under supervision; never throws for trainer or user errors, returns an exit code. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const dir = resolve(options.dir ?? './checkpoints');
  const ports = options.ports ?? defaultPorts;
  const out = options.out === undefined ? process.stdout : options.out;
  // A trainer named up front is the one this run uses, resumed or not: it starts now and loads its framework
  // (about a second) while the workspace is opened and the run prepared; the session that takes it over gets
  // its frames replayed. Any other trainer is known only from the ledger and starts once that is read.
  let unclaimed = options.trainer !== undefined ? spawnEarly(options.trainer, options.onTrainerSpawn) : null;
  let workspace: Awaited<ReturnType<TrainPorts['openWorkspace']>>;
  try {
    workspace = await ports.openWorkspace(dir);
  } catch (error) {
    if (unclaimed) await endUnclaimed(unclaimed);
    return failed(null, error);
  }
  const { ledger, store } = workspace;
  let server: OwnerServer | undefined;
  let active: RunSession | null = null;
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) { active?.forceEnd(); return; } // a second signal: stop waiting for the trainer
    interrupted = signal;
    void active?.interrupt(signal);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  if (options.handleSignals !== false) { process.on('SIGINT', onInt); process.on('SIGTERM', onTerm); }

  let runId: string | null = null;
  /** The staging directories offered to this call's trainer sessions (capability 'stage'). */
  const ownStaging = new Set<string>();
  let lease: Lease | undefined;
  let progress: RunProgress = silentProgress;
  try {
    const runs = await readViewState(ledger);
    // A shared ledger holds other hosts' runs: work only on the named run, under its lease (docs/scale.md).
    lease = await leaseNamedRun(options.run, (error) => {
      progress.line(`${error.code}: ${error.message}`);
      active?.forceEnd();
    });
    // Staging directories of supervisors that died (SIGKILL) hold nothing anyone will adopt.
    if (store.stagingRoot) await removeStagingDirs(store.stagingRoot);
    const previous = options.run !== undefined ? runs.runs[options.run] : latestRun(runs);
    if (previous && previous.status === 'running') await recordUncleanEnd(ledger, previous, 'the supervisor');
    // A run that finished with failed saves is unfinished business: --resume continues it from its newest
    // verified checkpoint to its planned end.
    const incomplete = previous?.status === 'finished' && options.resume === true && await finishedWithFailedSaves(ledger, previous.id);
    // A finished run asked for more epochs continues from its newest verified checkpoint to the new end.
    const extended = previous?.status === 'finished' && options.resume === true && options.epochs !== undefined && options.epochs > previous.epochs;
    const resumable = previous && (previous.status === 'running' || previous.status === 'crashed' || previous.status === 'stopped' || incomplete || extended) ? previous : undefined;
    if (options.resume === true && previous?.status === 'finished' && !resumable && options.run === undefined) {
      // Nothing is left to do: say so and succeed, instead of training a new run from scratch.
      out?.write(`nothing to resume: ${previous.id} finished at epoch ${previous.epoch} of ${previous.epochs}; pass --epochs N (more than ${previous.epochs}) to train it further\n`);
      return { exitCode: 0, run: previous.id, status: 'finished', epoch: previous.epoch, step: previous.step, weightsDigest: previous.weightsDigest ?? null, restarts: 0 };
    }
    if (options.run !== undefined && previous && !resumable) throw new CkptError('CLI_USAGE', `${options.run} already ${previous.status}; name a new run`);
    const resuming = resumable !== undefined && (options.resume === true || (options.resume === undefined && resumable.status !== 'stopped'));
    const base = resuming ? resumable : undefined;
    runId = base ? base.id : (options.run ?? nextRunId(runs));
    const run = runId;
    const trainerSpec = options.trainer ?? runProgram(base) ?? DEFAULTS.trainer;
    const command = resolveTrainer(trainerSpec);
    // Recorded so `--resume` from another directory finds the same program: built-in name, else absolute path.
    const trainerRecorded = (BUILTIN_TRAINERS as readonly string[]).includes(trainerSpec) ? trainerSpec : resolve(trainerSpec);
    const epochs = options.epochs ?? base?.epochs ?? DEFAULTS.epochs;
    const seed = options.seed ?? base?.seed ?? DEFAULTS.seed;
    const batchSize = options.batchSize ?? base?.batchSize ?? DEFAULTS.batchSize;
    const extra = { ...(base?.trainerConfig.config as Record<string, unknown> | undefined), ...options.trainerConfig };
    const config = { ...extra, epochs, batchSize, batchEvery: options.batchEvery ?? DEFAULTS.batchEvery };
    const policy = await ports.createPolicy({ ledger, run, config: base ? base.policy : (options.policy ?? DEFAULTS.policy) });
    progress = out ? createProgress(out, { epochs }) : silentProgress;
    if (base && options.policy !== undefined) progress.line(`${run} continues with the policy it started with; --policy applies to new runs`);
    if (options.resume === true && !base) progress.line(`nothing to resume; starting ${run}`);

    // This process owns the ledger now: let other ckpt processes read through it.
    server = await startOwnerServer({ dir, ledger, ...(options.serve ? { store: workspace.checkpointStore } : {}) }, { page: options.serve === true, ...(options.port !== undefined ? { port: options.port } : {}), ...options.serveWrites });
    if (options.serve) progress.line(`dashboard: ${server.pageUrl}`);

    const saves = new SaveQueue();
    const timeouts = { helloMs: 15_000, stateMs: 120_000, exitMs: 5_000, ...options.timeouts };
    let lastCrash: { code: string | undefined; beforeHello: boolean } | null = null;
    let restarts = 0;
    let attempt = base ? base.resumes : 0;
    let started = base !== undefined;
    let resumeReason: 'resume' | 'restart' = 'resume';
    for (;;) {
      let start: SessionStart = { config, seed };
      let fromCheckpoint: string | null = null;
      if (started) {
        // Verified blob paths, not bytes: a `stage` trainer reads them itself; others get them read into frames.
        const point = await store.loadNewestVerified(run, 'files');
        if (point) { start = { config, seed, state: point.state, checkpoint: point.checkpoint }; fromCheckpoint = point.checkpoint; }
        attempt++;
      }
      let trainer = unclaimed;
      unclaimed = null;
      if (!trainer) {
        trainer = TrainerProcess.spawn({ command: command.command, args: command.args });
        options.onTrainerSpawn?.(trainer.pid);
      }
      const resumedAttempt = attempt;
      const reason = resumeReason;
      const session = new RunSession({
        run, trainerName: command.name, ledger, store, policy, progress, saves, timeouts,
        onHello: (hello, tensors) => {
          if (!started) {
            return {
              line: `${run}: ${hello.trainer} ${hello.version} on ${hello.backend}, ${plural(epochs, 'epoch')}, seed ${seed}`,
              events: [{ stream: run, type: 'RunStarted', data: {
                run, trainer: hello.trainer, trainerVersion: hello.version, backend: hello.backend, protocol: hello.protocol,
                seed, epochs, batchSize, trainerConfig: { trainer: trainerRecorded, config: extra }, policy: policy.config, pid: process.pid, tensors,
              } }],
            };
          }
          const s = start.state?.trainer;
          return {
            line: `${run}: resumed ${fromCheckpoint ? `from ${fromCheckpoint} (epoch ${s?.epoch}, step ${s?.step})` : 'from the beginning (no checkpoint verified)'} on ${hello.backend}`,
            events: [{ stream: run, type: 'RunResumed', data: { run, fromCheckpoint, epoch: s?.epoch ?? 0, step: s?.step ?? 0, attempt: resumedAttempt, reason, tensors, ...(base && epochs !== base.epochs ? { epochs } : {}) } }],
          };
        },
      }, trainer);
      active = session;
      if (interrupted) void session.interrupt(interrupted);
      const outcome = await session.run(start).finally(() => {
        if (session.stagingDir) ownStaging.add(session.stagingDir);
      });
      active = null;
      if (session.helloSeen) started = true;
      if (session.fatal) throw session.fatal;
      if (outcome.kind === 'finished') {
        const failedSaves = outcome.failedSaves;
        const tolerated = policy.config.tolerateSaveFailures === true;
        if (failedSaves > 0) progress.line(`${run}: ${failedSaves} decided save(s) failed (see \`ckpt log\`)${tolerated ? '; tolerated by the policy' : '; free the cause, then `ckpt train --resume` continues the run from its newest checkpoint'}`);
        const exitCode = failedSaves > 0 && !tolerated ? EXIT_SAVES_FAILED : 0;
        return { exitCode, run, status: 'finished', epoch: outcome.epoch, step: outcome.step, weightsDigest: outcome.weightsDigest, restarts, url: server.url, ...(failedSaves > 0 ? { failedSaves } : {}) };
      }
      if (outcome.kind === 'stopped') {
        return { exitCode: outcome.signal === 'SIGTERM' ? 143 : 130, run, status: 'stopped', epoch: outcome.epoch, step: outcome.step, weightsDigest: null, restarts, url: server.url };
      }
      await saves.drain();
      // Every reply the dead trainer sent was adopted or failed by now: what is left in its staging directory was
      // never handed over (a write it was killed in). Deleted now, not when the run ends (docs/protocol.md "Ending").
      if (session.stagingDir) await rm(session.stagingDir, { recursive: true, force: true }).catch(() => {});
      await recordCrash(ledger, run, outcome, restarts + 1);
      // A trainer that fails before hello fails the same way again: restart it only once it got further.
      const sameStartFailure = outcome.beforeHello && (!started || (lastCrash?.beforeHello === true && lastCrash.code === outcome.code));
      lastCrash = { code: outcome.code, beforeHello: outcome.beforeHello };
      if (!interrupted && (sameStartFailure || restarts >= (options.maxRestarts ?? DEFAULTS.maxRestarts))) {
        progress.line(`${run}: trainer crashed (${outcome.reason}); ${sameStartFailure ? 'not restarting a trainer that fails before hello' : `giving up after ${restarts} restart(s)`}`);
        return { exitCode: 1, run, status: 'failed', ...session.at, weightsDigest: null, restarts, url: server.url, error: { code: outcome.code ?? 'RUN_CRASHED', message: outcome.reason } };
      }
      if (!interrupted) {
        restarts++;
        resumeReason = 'restart';
        const delay = restartDelayMs(restarts, options.restartBackoffMs ?? 500);
        progress.line(`${run}: trainer crashed (${outcome.reason}); restart ${restarts} in ${delay} ms`);
        await sleep(delay);
      }
      if (interrupted) {
        await recordStopped(ledger, run, interrupted);
        return { exitCode: interrupted === 'SIGTERM' ? 143 : 130, run, status: 'stopped', ...session.at, weightsDigest: null, restarts, url: server.url };
      }
    }
  } catch (error) {
    progress.line(`${hasCode(error) ? error.code : 'ERROR'}: ${(error as Error).message}`);
    return failed(runId, error);
  } finally {
    if (unclaimed) await endUnclaimed(unclaimed);
    progress.close();
    if (options.handleSignals !== false) { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm); }
    await server?.close().catch(() => {});
    // This call's own staging directories (another train() in this process keeps its own).
    for (const dir of ownStaging) await rm(dir, { recursive: true, force: true }).catch(() => {});
    await lease?.release().catch(() => {});
    await workspace.close().catch(() => {});
  }
}

/** Spawn the trainer `spec` names, or null when it does not resolve (the run then reports that the usual way). */
function spawnEarly(spec: string, onSpawn: ((pid: number) => void) | undefined): TrainerProcess | null {
  let command: ReturnType<typeof resolveTrainer>;
  try {
    command = resolveTrainer(spec);
  } catch {
    return null;
  }
  const trainer = TrainerProcess.spawn({ command: command.command, args: command.args });
  onSpawn?.(trainer.pid);
  return trainer;
}

/** A trainer spawned ahead that no session took over (the run failed before it started). */
async function endUnclaimed(trainer: TrainerProcess): Promise<void> {
  trainer.endInput();
  trainer.kill('SIGKILL');
  await trainer.waitForExit();
}

function failed(run: string | null, error: unknown): TrainResult {
  const code = hasCode(error) ? error.code : 'RUN_FAILED';
  return { exitCode: 1, run, status: 'failed', epoch: 0, step: 0, weightsDigest: null, restarts: 0, error: { code, message: (error as Error)?.message ?? String(error) } };
}

async function recordCrash(ledger: Ledger, run: string, outcome: Extract<SessionOutcome, { kind: 'crashed' }>, attempt: number): Promise<void> {
  const data: RunCrashed = { run, reason: outcome.reason, attempt, exitCode: outcome.exitCode, signal: outcome.signal, ...(outcome.code ? { code: outcome.code } : {}) };
  await ledger.append([{ stream: run, type: 'RunCrashed', data }], { durable: true });
}

/** Whether `run`'s newest RunFinished records saves that failed (so it is not complete). */
async function finishedWithFailedSaves(ledger: Ledger, run: string): Promise<boolean> {
  let last: RunFinished | undefined;
  for await (const event of ledger.read({ stream: run, types: ['RunFinished'] })) last = event.data as RunFinished;
  return (last?.failedSaves ?? 0) > 0;
}

