import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, type Repository } from 'typeorm';
import type { ClientCapabilities } from '@modelcontextprotocol/server';
import { ChangeBus, type ChangeEvent } from '@app/database';
import { InputRelayEntity } from './input-relay.entity.js';

/** A retry of an `input_required` round, for the replica whose call it continues. */
export interface RelayedRound {
  /** The operation, as the sealed state names it (the next round's state names it too). */
  op: string;
  exchange: string;
  round: number;
  key: string;
  inputResponses: Record<string, unknown> | undefined;
  /** What the retrying client declared (a request past it ends the call: `-32021`). */
  declared: ClientCapabilities | undefined;
}

/** What the round came to: the result the client gets (complete or input_required), or a JSON-RPC error. */
export type RoundOutcome = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

type RelaySignal =
  | { op: 'input'; to: string; from: string; reply: string; round: RelayedRound }
  | { op: 'input-ack'; to: string; reply: string }
  | { op: 'input-alive'; to: string; reply: string }
  | { op: 'input-reply'; to: string; reply: string }
  | { op: 'input-cancel'; to: string; exchange: string };

/** How long the asking replica waits for the holder to say it has the call (then: it is gone). */
const ACK_MS = 5_000;
/**
 * While it runs a round, the holder says so this often; the asking replica gives up on a holder silent for
 * ALIVE_MS (it was killed after it took the round) rather than waiting out the round's whole time.
 */
const KEEPALIVE_MS = 3_000;
const ALIVE_MS = 10_000;
/** Outcomes not picked up within this are swept. */
const STALE_MS = 15 * 60_000;

/**
 * Continues `input_required` rounds across replicas (issue 19 with issue 18's bus): a call waiting for its
 * client's input lives in the process that started it (its upstream request is in flight there), while the
 * client's retry may reach any replica. That replica, having opened the sealed state and checked the caller's
 * grants, hands the retry to the holder over the change bus (NOTIFY); the holder continues the call and leaves
 * the outcome, which may be large, in the database (`mcp_input_relay`), and says so. A client that goes away
 * meanwhile cancels the call on the holder. Without a Postgres server (the embedded database, one process) there
 * is nothing to relay to.
 */
@Injectable()
export class InputRelay implements OnModuleDestroy {
  private readonly logger = new Logger('Gateway');
  private readonly pending = new Map<
    string,
    { ack(): void; alive(): void; done(outcome: RoundOutcome | null): void }
  >();
  private continueHere: ((round: RelayedRound) => Promise<RoundOutcome>) | null = null;
  private cancelHere: ((exchange: string) => void) | null = null;
  private readonly stop: () => void;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly bus: ChangeBus,
    @InjectRepository(InputRelayEntity) private readonly mailbox: Repository<InputRelayEntity>,
  ) {
    this.stop = bus.subscribe((event) => this.onSignal(event));
    this.sweeper = setInterval(() => void this.sweep(), STALE_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    this.stop();
    clearInterval(this.sweeper);
    for (const waiter of this.pending.values()) waiter.done(null);
    this.pending.clear();
  }

  /** This process, as sealed states name it. */
  get origin(): string {
    return this.bus.origin;
  }

  get enabled(): boolean {
    return this.bus.enabled;
  }

  /** How this process continues (or cancels) one of its waiting calls for another replica. */
  serve(
    continueHere: (round: RelayedRound) => Promise<RoundOutcome>,
    cancelHere: (exchange: string) => void,
  ) {
    this.continueHere = continueHere;
    this.cancelHere = cancelHere;
  }

  /** Ends a call waiting on replica `holder` (the caller's grants changed). */
  cancelOn(holder: string, exchange: string): void {
    void this.send({ op: 'input-cancel', to: holder, exchange });
  }

  /**
   * Has replica `holder` continue the round; the outcome, or null when it cannot be reached, did not take the
   * round within ACK_MS, or did not finish it within `timeoutMs`. `signal`: the client went away (the call is
   * cancelled on the holder).
   */
  async continueOn(
    holder: string,
    round: RelayedRound,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<RoundOutcome | null> {
    const reply = randomUUID();
    const settled = new Promise<RoundOutcome | null>((resolve) => {
      let timer = setTimeout(() => finish(null), ACK_MS);
      const finish = (outcome: RoundOutcome | null) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', gone);
        this.pending.delete(reply);
        resolve(outcome);
      };
      const gone = () => {
        void this.send({ op: 'input-cancel', to: holder, exchange: round.exchange });
        finish(null);
      };
      signal.addEventListener('abort', gone, { once: true });
      // Taken: the round has `timeoutMs` in all, as long as the holder keeps saying it is alive.
      let deadline = 0;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(null), Math.max(0, Math.min(ALIVE_MS, deadline - Date.now())));
      };
      this.pending.set(reply, {
        ack: () => {
          deadline = Date.now() + timeoutMs;
          arm();
        },
        alive: () => {
          if (deadline) arm();
        },
        done: finish,
      });
    });
    if (!(await this.send({ op: 'input', to: holder, from: this.origin, reply, round }))) {
      this.pending.get(reply)?.done(null);
    }
    return settled;
  }

  private async send(signal: RelaySignal): Promise<boolean> {
    return this.bus.enabled ? this.bus.signal(signal) : false;
  }

  private onSignal(event: ChangeEvent): void {
    if (event.topic !== 'session') return;
    const signal = event.data as RelaySignal;
    if (signal?.to !== this.origin) return;
    switch (signal.op) {
      case 'input':
        void this.continueFor(signal);
        return;
      case 'input-ack':
        this.pending.get(signal.reply)?.ack();
        return;
      case 'input-alive':
        this.pending.get(signal.reply)?.alive();
        return;
      case 'input-reply':
        void this.pickUp(signal.reply);
        return;
      case 'input-cancel':
        this.cancelHere?.(signal.exchange);
        return;
    }
  }

  /** On the holder: continues the round, leaves the outcome in the mailbox, tells the asking replica. */
  private async continueFor(signal: Extract<RelaySignal, { op: 'input' }>): Promise<void> {
    if (!this.continueHere) return;
    await this.send({ op: 'input-ack', to: signal.from, reply: signal.reply });
    const beat = setInterval(
      () => void this.send({ op: 'input-alive', to: signal.from, reply: signal.reply }),
      KEEPALIVE_MS,
    );
    beat.unref();
    const outcome = await this.continueHere(signal.round)
      .catch((error: unknown): RoundOutcome => ({
        error: { code: -32603, message: (error as Error).message },
      }))
      .finally(() => clearInterval(beat));
    try {
      await this.mailbox.insert({ replyId: signal.reply, payload: JSON.stringify(outcome) });
      await this.send({ op: 'input-reply', to: signal.from, reply: signal.reply });
    } catch (error) {
      this.logger.warn({
        msg: 'could not hand an input_required round back',
        error: (error as Error).message,
      });
    }
  }

  /** On the asking replica: the outcome, read once. */
  private async pickUp(reply: string): Promise<void> {
    const waiter = this.pending.get(reply);
    if (!waiter) return;
    try {
      const row = await this.mailbox.findOneBy({ replyId: reply });
      await this.mailbox.delete({ replyId: reply });
      waiter.done(row ? (JSON.parse(row.payload) as RoundOutcome) : null);
    } catch {
      waiter.done(null);
    }
  }

  private async sweep(): Promise<void> {
    if (!this.bus.enabled) return;
    await this.mailbox
      .delete({ createdAt: LessThan(new Date(Date.now() - STALE_MS)) })
      .catch(() => undefined);
  }
}
