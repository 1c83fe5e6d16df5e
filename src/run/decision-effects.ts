/**
 * Carrying out a policy's decisions for one session: each decision is appended durably first, then acted on —
 * save (ask the trainer for its state, commit in the background, one save in flight), prune, backup, stop,
 * restore (load the checkpoint, send `restore`). Facts the actions produce (CheckpointCommitted, Pruned, ...)
 * go back into the policy, whose new decisions are carried out the same way.
 *
 * @example const effects = new DecisionEffects(ctx, trainer, requests, host); await effects.decide(epochEnded)
 */
import type { LedgerEvent } from '../../ledger/types.js';
import { hasCode } from '../errors.js';
import { DECISION_EVENT, type CheckpointCommitted, type Decision, type Metrics } from '../events.js';
import type { StateReply } from '../protocol/messages.js';
import { appendAndRead } from './append-events.js';
import type { SerialQueue } from './serial-queue.js';
import type { SessionContext } from './session.js';
import type { StateRequests } from './state-requests.js';
import type { TrainerProcess } from './trainer-process.js';

/** What the effects need from the session that owns them. */
export interface EffectsHost {
  serial: SerialQueue;
  background(work: Promise<unknown>): void;
  settled(): boolean;
  position(): { epoch: number; step: number };
  lastMetrics(): Metrics;
  backend(): string;
  onStop(): void;
}

export class DecisionEffects {
  /** `restore` commands sent to the trainer: its weights are no longer those its loop ended with. */
  restoresSent = 0;
  /** The newest checkpoint this run committed (its position and the weights digest the store computed). */
  lastCommitted: { epoch: number; step: number; weightsDigest: string } | null = null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly trainer: TrainerProcess,
    private readonly requests: StateRequests,
    private readonly host: EffectsHost,
  ) {}

  /** Feed one stored event to the policy and carry out its decisions (recorded durably first). */
  async decide(event: LedgerEvent): Promise<void> {
    if (this.host.settled()) return;
    if (event.type === 'CheckpointCommitted') {
      const { epoch, step, weightsDigest } = event.data as CheckpointCommitted;
      this.lastCommitted = { epoch, step, weightsDigest };
    }
    const decisions = await this.ctx.policy.decide(event);
    if (decisions.length === 0) return;
    const stored = await this.appendDecisions(decisions);
    for (let i = 0; i < decisions.length; i++) {
      this.ctx.progress.decision(decisions[i]);
      await this.act(decisions[i], stored[i]);
    }
  }

  async appendDecisions(decisions: Decision[]): Promise<LedgerEvent[]> {
    const run = this.ctx.run;
    return appendAndRead(this.ctx.ledger, decisions.map((d) => ({ stream: run, type: DECISION_EVENT[d.kind], data: { run, ...d } })), true);
  }

  private async act(decision: Decision, stored: LedgerEvent): Promise<void> {
    // The decision event itself goes back to the policy (e.g. StopDecided ends early-stopping's patience).
    switch (decision.kind) {
      case 'save':
        await this.save(decision, stored.seq, { wait: false });
        break;
      case 'prune':
        if (decision.checkpoint) {
          const pruned = await this.ctx.store.prune(decision.checkpoint, stored.seq).catch((error) => this.warn(stored.seq, 'prune', error));
          if (pruned) await this.decide(pruned);
        }
        break;
      case 'backup':
        if (decision.checkpoint && decision.target) {
          const result = await this.ctx.store.backup(decision.checkpoint, decision.target, stored.seq).catch((error) => this.warn(stored.seq, 'backup', error));
          if (result) await this.decide(result);
        }
        break;
      case 'stop':
        this.host.onStop();
        this.trainer.send({ type: 'stop', reason: decision.reason });
        break;
      case 'restore':
        if (decision.checkpoint) {
          await this.ctx.saves.drain();
          const state = await this.ctx.store.load(decision.checkpoint).catch((error) => this.warn(stored.seq, 'restore', error));
          if (state) {
            this.restoresSent++;
            this.trainer.send({ type: 'restore', state });
          }
        }
        break;
      default:
        break;
    }
  }

  /** Ask the trainer for its state, then commit it in the background (or wait, for a final save). */
  async save(decision: Decision, decisionSeq: number, options: { wait: boolean }): Promise<void> {
    let reply: StateReply;
    try {
      // Exactly the decided position's state, or a failed save: never another position's.
      const at = this.host.position();
      reply = await this.requests.request({ epoch: decision.epoch ?? at.epoch, step: decision.step ?? at.step });
    } catch (error) {
      return this.saveFailed(decisionSeq, error);
    }
    await this.commitInBackground(decision, decisionSeq, reply, options);
  }

  private async saveFailed(decisionSeq: number, error: unknown): Promise<void> {
    // A trainer that died is reported by its exit (next in line); anything else is worth a warning.
    if (!this.trainer.running || (hasCode(error) && error.code === 'PROTOCOL_TRAINER_EXITED')) return;
    await this.warn(decisionSeq, 'save', error);
  }

  private async commitInBackground(decision: Decision, decisionSeq: number, reply: StateReply, options: { wait: boolean }): Promise<void> {
    const state = reply.state;
    const trainer = state.trainer;
    const meta = {
      run: this.ctx.run, epoch: trainer.epoch, step: trainer.step,
      metrics: trainer.epoch === this.host.position().epoch ? this.host.lastMetrics() : (state.history.find((h) => h.epoch === trainer.epoch)?.metrics ?? {}),
      decisionSeq, labels: decision.labels, trainer: this.ctx.trainerName, backend: this.host.backend(),
    };
    this.host.background(this.ctx.saves.enqueue(() => this.ctx.store.commit(state, meta)).then(
      (committed) => this.host.serial.run(() => this.decide(committed)),
      (error) => this.host.serial.run(() => this.warn(decisionSeq, 'save', error)),
    ));
    if (options.wait) await this.ctx.saves.drain();
  }

  private async warn(causeSeq: number, rule: string, error: unknown): Promise<undefined> {
    const code = hasCode(error) ? error.code : 'ERROR';
    const decision: Decision = { kind: 'warn', causeSeq, rule, run: this.ctx.run, reason: `${rule} failed: ${code}: ${(error as Error).message}` };
    this.ctx.progress.decision(decision);
    await this.appendDecisions([decision]);
    return undefined;
  }

}
