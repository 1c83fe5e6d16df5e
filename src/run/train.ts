/**
 * `train()`: the supervisor end to end. Opens the workspace (and so owns the ledger), recovers a run that
 * ended uncleanly (RunCrashed), starts or resumes a run, supervises trainer processes with restarts and
 * backoff, handles SIGINT/SIGTERM, and returns an exit code for the CLI.
 *
 * @example
 *   const result = await train({ dir: './checkpoints', trainer: 'mnist-mlp', epochs: 5, seed: 42 });
 *   process.exitCode = result.exitCode;
 */
import { resolve } from 'node:path';
import type { Ledger } from '../../ledger/types.js';
import { hasCode } from '../errors.js';
import type { RunCrashed } from '../events.js';
import { latestRun, nextRunId, RUNS_PROJECTION, runsProjection, type RunsState, type RunSummary } from '../projections/runs.js';
import { startOwnerServer, type OwnerServer } from '../server/owner-server.js';
import { BUILTIN_TRAINERS, resolveTrainer } from '../trainers.js';
import { restartDelayMs, sleep } from './backoff.js';
import { createProgress, silentProgress, type RunProgress } from './progress.js';
import { SaveQueue } from './save-queue.js';
import { appendAndRead } from './append-events.js';
import { RunSession, type SessionOutcome, type SessionStart } from './session.js';
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
  timeouts?: Partial<{ helloMs: number; stateMs: number; exitMs: number }>;
  /** Replace the workspace/policy wiring (tests). */
  ports?: TrainPorts;
}

export interface TrainResult {
  exitCode: 0 | 1 | 130 | 143;
  run: string | null;
  status: 'finished' | 'stopped' | 'failed';
  epoch: number;
  step: number;
  weightsDigest: string | null;
  /** Trainer restarts this call made after crashes. */
  restarts: number;
  /** URL of the owner server while it ran, when one was started. */
  url?: string;
  error?: { code: string; message: string };
}

const DEFAULTS = { trainer: 'mnist-mlp', epochs: 5, seed: 42, batchSize: 32, policy: 'normal', maxRestarts: 3, batchEvery: 10 };

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
  let progress: RunProgress = silentProgress;
  try {
    const runs = await runsState(ledger);
    const previous = latestRun(runs);
    if (previous && previous.status === 'running') await recordUncleanEnd(ledger, previous);
    const resumable = previous && (previous.status === 'running' || previous.status === 'crashed' || previous.status === 'stopped') ? previous : undefined;
    const resuming = resumable !== undefined && (options.resume === true || (options.resume === undefined && resumable.status !== 'stopped'));
    const base = resuming ? resumable : undefined;
    runId = base ? base.run : nextRunId(runs);
    const run = runId;
    const trainerSpec = options.trainer ?? (base?.trainerConfig.trainer as string | undefined) ?? DEFAULTS.trainer;
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
    if (options.resume === true && !base) progress.line(previous ? `nothing to resume: ${previous.run} finished; starting ${run}` : `nothing to resume; starting ${run}`);

    // This process owns the ledger now: let other ckpt processes read through it.
    server = await startOwnerServer({ dir, ledger, ...(options.serve ? { store: workspace.checkpointStore } : {}) }, { page: options.serve === true, ...(options.port !== undefined ? { port: options.port } : {}), ...options.serveWrites });
    if (options.serve) progress.line(`dashboard: ${server.pageUrl}`);

    const saves = new SaveQueue();
    const timeouts = { helloMs: 120_000, stateMs: 120_000, exitMs: 5_000, ...options.timeouts };
    let restarts = 0;
    let attempt = base ? base.resumes : 0;
    let started = base !== undefined;
    let resumeReason: 'resume' | 'restart' = 'resume';
    for (;;) {
      let start: SessionStart = { config, seed };
      let fromCheckpoint: string | null = null;
      if (started) {
        const point = await store.loadNewestVerified(run);
        if (point) { start = { config, seed, state: point.state }; fromCheckpoint = point.checkpoint; }
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
        onHello: (hello) => {
          if (!started) {
            return {
              line: `${run}: ${hello.trainer} ${hello.version} on ${hello.backend}, ${plural(epochs, 'epoch')}, seed ${seed}`,
              events: [{ stream: run, type: 'RunStarted', data: {
                run, trainer: hello.trainer, trainerVersion: hello.version, backend: hello.backend, protocol: hello.protocol,
                seed, epochs, batchSize, trainerConfig: { trainer: trainerRecorded, config: extra }, policy: policy.config, pid: process.pid,
              } }],
            };
          }
          const s = start.state?.trainer;
          return {
            line: `${run}: resumed ${fromCheckpoint ? `from ${fromCheckpoint} (epoch ${s?.epoch}, step ${s?.step})` : 'from the beginning (no checkpoint verified)'} on ${hello.backend}`,
            events: [{ stream: run, type: 'RunResumed', data: { run, fromCheckpoint, epoch: s?.epoch ?? 0, step: s?.step ?? 0, attempt: resumedAttempt, reason } }],
          };
        },
      }, trainer);
      active = session;
      if (interrupted) void session.interrupt(interrupted);
      const outcome = await session.run(start);
      active = null;
      if (session.helloSeen) started = true;
      if (session.fatal) throw session.fatal;
      if (outcome.kind === 'finished') {
        return { exitCode: 0, run, status: 'finished', epoch: outcome.epoch, step: outcome.step, weightsDigest: outcome.weightsDigest, restarts, url: server.url };
      }
      if (outcome.kind === 'stopped') {
        return { exitCode: outcome.signal === 'SIGTERM' ? 143 : 130, run, status: 'stopped', epoch: outcome.epoch, step: outcome.step, weightsDigest: null, restarts, url: server.url };
      }
      await saves.drain();
      await recordCrash(ledger, run, outcome, restarts + 1);
      if (interrupted) {
        await appendAndRead(ledger, [{ stream: run, type: 'RunStopped', data: { run, reason: `interrupted by ${interrupted}`, signal: interrupted } }], true);
        return { exitCode: interrupted === 'SIGTERM' ? 143 : 130, run, status: 'stopped', ...session.at, weightsDigest: null, restarts, url: server.url };
      }
      if (restarts >= (options.maxRestarts ?? DEFAULTS.maxRestarts)) {
        progress.line(`${run}: trainer crashed (${outcome.reason}); giving up after ${restarts} restart(s)`);
        return { exitCode: 1, run, status: 'failed', ...session.at, weightsDigest: null, restarts, url: server.url, error: { code: outcome.code ?? 'RUN_CRASHED', message: outcome.reason } };
      }
      restarts++;
      resumeReason = 'restart';
      const delay = restartDelayMs(restarts, options.restartBackoffMs ?? 500);
      progress.line(`${run}: trainer crashed (${outcome.reason}); restart ${restarts} in ${delay} ms`);
      await sleep(delay);
      if (interrupted) {
        await appendAndRead(ledger, [{ stream: run, type: 'RunStopped', data: { run, reason: `interrupted by ${interrupted}`, signal: interrupted } }], true);
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

async function runsState(ledger: Ledger): Promise<RunsState> {
  try {
    return ledger.state<RunsState>(RUNS_PROJECTION);
  } catch {
    return ledger.register(runsProjection);
  }
}

/** The previous supervisor died mid-run (SIGKILL, power cut): say so in the ledger before anything else. */
async function recordUncleanEnd(ledger: Ledger, run: RunSummary): Promise<void> {
  const data: RunCrashed = { run: run.run, reason: 'the supervisor ended without finishing or stopping the run (killed?)', code: 'RUN_UNCLEAN_END', attempt: run.crashes + 1 };
  await appendAndRead(ledger, [{ stream: run.run, type: 'RunCrashed', data }], true);
}

async function recordCrash(ledger: Ledger, run: string, outcome: Extract<SessionOutcome, { kind: 'crashed' }>, attempt: number): Promise<void> {
  const data: RunCrashed = { run, reason: outcome.reason, attempt, exitCode: outcome.exitCode, signal: outcome.signal, ...(outcome.code ? { code: outcome.code } : {}) };
  await appendAndRead(ledger, [{ stream: run, type: 'RunCrashed', data }], true);
}

