/**
 * The protocol host: one trainer child process seen as a stream. stdout carries frames only (decoded with
 * FrameDecoder), stderr is split into lines, commands go to stdin as frames. The stream ends with exactly one
 * `exit` item; a protocol fault is reported once and the child is killed (a trainer that broke the protocol
 * cannot be trusted with the next command).
 *
 * The trainer runs in its own process group, and every signal goes to the whole group: a wrapper script that
 * starts the real trainer without `exec` (`sh train.sh`, conda run, ...) is ended with everything it started.
 * No wait is unbounded: once stdin is closed the trainer has `exitGraceMs` to exit before its group gets SIGTERM,
 * then as long again before SIGKILL; once the trainer has exited, a process it left behind holding its pipes is
 * killed and the pipes are closed after `pipeGraceMs`, so a stray grandchild never keeps the supervisor waiting.
 *
 * @example
 *   const trainer = TrainerProcess.spawn({ command: process.execPath, args: ['trainer.mjs'] });
 *   trainer.output$.subscribe((item) => console.log(item.kind));
 *   trainer.send({ type: 'start', config: { epochs: 3, batchSize: 32 }, seed: 1 });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Observable, ReplaySubject } from 'rxjs';
import { CkptError } from '../errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/frames.js';
import { TRAINER_MESSAGE_TYPES, type SupervisorMessage, type TrainerMessage } from '../protocol/messages.js';
import { validateTrainerMessage } from './validate-message.js';

export interface TrainerCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export type TrainerOutput =
  | { kind: 'message'; message: TrainerMessage }
  | { kind: 'stderr'; line: string }
  | { kind: 'fault'; error: CkptError }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null };

export interface TrainerProcessOptions {
  maxFrameBytes?: number;
  /** After `endInput()`, how long the trainer may take to exit before its group gets SIGTERM (then SIGKILL as long again). Default 2000 ms. */
  exitGraceMs?: number;
  /** After the trainer exits, how long its pipes may stay open (held by a process it left behind) before that group is killed and the pipes closed. Default 300 ms. */
  pipeGraceMs?: number;
}

export const DEFAULT_EXIT_GRACE_MS = 2000;
export const DEFAULT_PIPE_GRACE_MS = 300;

export class TrainerProcess {
  readonly pid: number;
  /** Replays everything from spawn, so a late subscriber misses nothing. */
  readonly output$: Observable<TrainerOutput>;
  private readonly child: ChildProcess;
  private readonly subject = new ReplaySubject<TrainerOutput>();
  private faulted = false;
  private exited = false;
  private readonly exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly exitGraceMs: number;

  private constructor(child: ChildProcess, options: TrainerProcessOptions) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.exitGraceMs = options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS;
    const pipeGraceMs = options.pipeGraceMs ?? DEFAULT_PIPE_GRACE_MS;
    this.output$ = this.subject.asObservable();
    const decoder = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES, maxFrameBytes: options.maxFrameBytes });
    let stdoutEnded = false;
    let stderrEnded = false;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let resolveExit!: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;
    this.exitPromise = new Promise((r) => (resolveExit = r));
    const finish = (): void => {
      // Emit `exit` only after both pipes drained, so no frame or log line arrives after it.
      if (!exitInfo || !stdoutEnded || !stderrEnded || this.exited) return;
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      if (!this.faulted && decoder.pending > 0) {
        this.fault(new CkptError('PROTOCOL_TRUNCATED', `trainer exited in the middle of a frame (${decoder.pending} bytes pending); the trainer must write whole frames`, { details: { pending: decoder.pending } }));
      }
      this.exited = true;
      this.subject.next({ kind: 'exit', ...exitInfo });
      this.subject.complete();
      resolveExit(exitInfo);
    };

    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.faulted) return;
      let frames: ReturnType<FrameDecoder['push']>;
      let broken: unknown = null;
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        // The whole frames written before the bad one (a state reply among them) count, however the pipe chunked them.
        frames = (error instanceof CkptError ? error.details.messages as typeof frames | undefined : undefined) ?? [];
        broken = error;
      }
      try {
        for (const raw of frames) this.subject.next({ kind: 'message', message: validateTrainerMessage(raw) });
        if (broken) throw broken;
      } catch (error) {
        this.fault(error instanceof CkptError ? error : new CkptError('PROTOCOL_MALFORMED', String(error), { cause: error }));
      }
    });
    child.stdout!.on('end', () => { stdoutEnded = true; finish(); });
    child.stdout!.on('error', () => { stdoutEnded = true; finish(); });

    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.subject.next({ kind: 'stderr', line: line.replace(/\r$/, '') });
      if (partial.length > 64 * 1024) { this.subject.next({ kind: 'stderr', line: partial }); partial = ''; }
    });
    const endStderr = (): void => {
      if (partial.trim()) this.subject.next({ kind: 'stderr', line: partial });
      partial = '';
      stderrEnded = true;
      finish();
    };
    child.stderr!.on('end', endStderr);
    child.stderr!.on('error', endStderr);
    // A trainer that dies does not read stdin: writes then fail with EPIPE, which the exit event reports.
    child.stdin!.on('error', () => {});
    child.on('error', (error) => {
      this.fault(new CkptError('PROTOCOL_SPAWN_FAILED', `could not start the trainer: ${error.message}; check the --trainer path and that it is executable`, { cause: error }));
      exitInfo = { code: null, signal: null };
      stdoutEnded = stderrEnded = true;
      finish();
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      finish();
      if (this.exited) return;
      // Its pipes are still open: something the trainer started holds them. Give buffered output a moment to
      // arrive, then kill what is left of the trainer's group, then stop waiting for the pipes at all.
      this.after(pipeGraceMs, () => {
        this.signalGroup('SIGKILL');
        this.after(pipeGraceMs, () => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          stdoutEnded = true;
          if (!stderrEnded) endStderr();
          finish();
        });
      });
    });
  }

  /**
   * Start a trainer child process with piped stdio.
   * @example const t = TrainerProcess.spawn({ command: '/usr/bin/python3', args: ['trainers/python/example.py'] })
   */
  static spawn(command: TrainerCommand, options: TrainerProcessOptions = {}): TrainerProcess {
    const child = spawn(command.command, command.args, {
      cwd: command.cwd,
      env: { ...process.env, ...command.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only the supervisor, which then asks the trainer
      // for a final checkpoint. If the supervisor dies, the trainer sees stdin close and exits.
      detached: true,
    });
    return new TrainerProcess(child, options);
  }

  get running(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Send one command; a no-op once the trainer is gone (its exit is already on the stream). */
  send(message: SupervisorMessage): void {
    if (!this.running || this.child.stdin!.destroyed) return;
    this.child.stdin!.write(encodeFrame(message as unknown as { type: string } & Record<string, unknown>));
  }

  /**
   * Close stdin: a well-behaved trainer exits when its input ends. One that has not exited `exitGraceMs` later
   * gets SIGTERM (its whole group), and SIGKILL as long after that.
   */
  endInput(): void {
    if (!this.child.stdin!.destroyed) this.child.stdin!.end();
    this.after(this.exitGraceMs, () => {
      if (!this.running) return;
      this.signalGroup('SIGTERM');
      this.after(this.exitGraceMs, () => { if (this.running) this.signalGroup('SIGKILL'); });
    });
  }

  /** Signal the trainer and every process it started (its process group). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.signalGroup(signal);
  }

  /** Resolves when the process exited and both pipes drained. */
  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exitPromise;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // No such group (everyone is gone) or no group support: signal the trainer itself.
      try { this.child.kill(signal); } catch { /* gone */ }
    }
  }

  /** A timer that never keeps the supervisor alive and is cleared once the trainer is fully gone. */
  private after(ms: number, action: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); action(); }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private fault(error: CkptError): void {
    if (this.faulted) return;
    this.faulted = true;
    this.subject.next({ kind: 'fault', error });
    this.kill('SIGKILL');
  }
}
