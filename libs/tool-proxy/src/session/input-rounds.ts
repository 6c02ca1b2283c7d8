import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  inputRequired,
  type InputRequests,
  type InputRequiredResult,
  isInputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerRecord } from '@app/mcp-registry';
import type { SignedIn } from '../upstream/modern-upstreams.js';
import { GatewayMetrics } from '@app/observability';
import type { CallOptions, ModernRound } from '../calls/tool-caller.js';
import type { CallerScope } from '../catalog/view.types.js';
import { protocolError } from '../upstream/upstream-errors.js';
import { InputExchange, type InputRequest, InputLeases } from './input-exchange.js';
import { InputRelay, type RelayedRound, type RoundOutcome } from './input-relay.js';
import { keyRef, RequestStateSeal, type SealedState } from './request-state.js';
import { forwardedCapabilities } from './server-requests.js';

/** How long a call waits for the client's input between rounds (and a sealed state stays valid). */
export const INPUT_WAIT_MS = 10 * 60_000;
/** Calls one key may leave waiting for input at once; past it, its oldest waiting call is cancelled. */
const WAITING_PER_KEY = 32;

/**
 * How a round's call reaches upstreams: the exchange's connection and signal, and (to an upstream that speaks
 * 2026-07-28) the client's declared capabilities and answers.
 */
export type RoundOptions = Pick<CallOptions, 'connection' | 'signal' | 'modern' | 'track'>;

/**
 * The `input_required` rounds of protocol revision 2026-07-28 (issue 19) for the gateway's stateless endpoint. A
 * call whose upstream asks the client something (sampling, elicitation, roots) is answered with an
 * `input_required` result naming what it asks, and waits here, on this process, for the client's retry. The
 * `requestState` the client gets is the gateway's own sealed token (RequestStateSeal): bound to the caller's key,
 * the server, the operation, the round and an expiry. On the retry, the token is opened (by the SDK's verify
 * hook: tampered, expired, another key's → `-32602`), the call's grant is checked again (a changed grant ends the
 * call, with an explained error), and the answers go to the upstream's waiting requests.
 */
@Injectable()
export class InputRounds implements OnModuleDestroy {
  private readonly waiting = new Map<string, { exchange: InputExchange<unknown>; timer: NodeJS.Timeout }>();
  /** Rounds this process runs for another replica, by call: a client gone there cancels them. */
  private readonly relayed = new Map<string, AbortController>();

  /** input_required results handed out, and rounds continued for another replica (metrics). */
  private handedOut = 0;
  private continuedForOthers = 0;

  constructor(
    readonly seal: RequestStateSeal,
    private readonly leases: InputLeases,
    private readonly relay: InputRelay,
    metrics: GatewayMetrics,
  ) {
    metrics.counter(
      'mcp_input_required_total',
      'input_required results given to 2026-07-28 clients (an upstream asked its client something mid-call)',
      () => this.handedOut,
    );
    metrics.gauge(
      'mcp_input_waiting_calls',
      'Calls waiting on this process for their 2026-07-28 client to answer an input_required result',
      () => this.waiting.size,
    );
    metrics.counter(
      'mcp_input_rounds_relayed_total',
      'input_required rounds this process continued for a retry that reached another replica',
      () => this.continuedForOthers,
    );
    relay.serve(
      (round) => this.continueHere(round),
      (id) => {
        this.relayed.get(id)?.abort();
        this.cancelWaiting(id, this.relay.origin);
      },
    );
  }

  onModuleDestroy(): void {
    for (const { exchange, timer } of this.waiting.values()) {
      clearTimeout(timer);
      exchange.cancel();
    }
    this.waiting.clear();
  }

  /**
   * Runs one round of an operation: a new call, or (with a sealed state) the continuation of a waiting one.
   * `op` names the operation as the client did; `target` resolves, now and under the caller's grants, the id of
   * the server it reaches (the continuation must reach the same one).
   */
  async run<T>(
    scope: CallerScope,
    ctx: ServerContext,
    op: string,
    target: () => Promise<string | null>,
    start: (options: RoundOptions) => Promise<T>,
  ): Promise<T | InputRequiredResult> {
    const state = ctx.mcpReq.requestState<SealedState>();
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
    if (state === undefined) return this.begin(scope, op, declared, ctx.mcpReq.signal, start);
    if (state.op !== op)
      throw invalidState(
        'requestState was issued for another request: send it back with the request it came from',
      );
    // The caller's grants, checked again here, on whichever replica the retry reached.
    if ((await target().catch(() => null)) !== state.server) {
      this.cancelWaiting(state.exchange, state.replica);
      throw protocolError(
        ErrorCode.InvalidParams,
        `${op.slice(op.indexOf(':') + 1)} is no longer available to this key through the server it was called on (its grants changed while the call waited for input): the call was cancelled`,
        { reason: 'grant_changed' },
      );
    }
    // The user was asked to sign in at the upstream: the call again, unless they declined.
    if (state.signIn) {
      const answer = ctx.mcpReq.inputResponses?.[SIGN_IN_KEY] as { action?: unknown } | undefined;
      if (answer?.action !== undefined && answer.action !== 'accept')
        throw protocolError(
          ErrorCode.InvalidRequest,
          `the sign-in at the upstream's authorization server was ${answer.action === 'decline' ? 'declined' : 'cancelled'}: the call needs it`,
        );
      return this.begin(scope, op, declared, ctx.mcpReq.signal, start);
    }
    // The upstream asked itself (2026-07-28): its state and the client's answers go back to it, from any replica.
    if (state.upstream !== undefined)
      return this.begin(scope, op, declared, ctx.mcpReq.signal, start, {
        inputResponses: ctx.mcpReq.inputResponses,
        requestState: state.upstream ?? undefined,
      });
    const round: RelayedRound = {
      op,
      exchange: state.exchange,
      round: state.round,
      key: state.key,
      inputResponses: ctx.mcpReq.inputResponses,
      declared,
    };
    if (state.replica !== this.relay.origin && !this.waiting.has(state.exchange))
      return this.continueElsewhere<T>(state.replica, round, ctx.mcpReq.signal);
    const exchange = this.continued(round) as InputExchange<T>;
    return this.advance(exchange, op, declared, ctx.mcpReq.signal);
  }

  /**
   * Starts a call (or, with `resume`, the next round of one whose upstream answered input_required itself): a
   * 2025 upstream's requests come through the exchange's connection, a 2026-07-28 upstream's in its result.
   */
  private begin<T>(
    scope: CallerScope,
    op: string,
    declared: ClientCapabilities | undefined,
    signal: AbortSignal,
    start: (options: RoundOptions) => Promise<T>,
    resume: Omit<ModernRound, 'capabilities'> = {},
  ): Promise<T | InputRequiredResult> {
    const capabilities = forwardedCapabilities(declared);
    const exchange = new InputExchange<T>(keyRef(scope.auth), capabilities);
    const connection = (server: McpServerRecord, headers: Record<string, string>, signedIn?: SignedIn) =>
      this.leases.connectionFor(exchange, server, headers, signedIn);
    const track = (serverId: string) => {
      exchange.serverId ??= serverId;
      return () => undefined;
    };
    const modern: ModernRound = { capabilities, ...resume };
    exchange.start((s) => start({ connection, signal: s, modern, track }));
    return this.advance(exchange, op, declared, signal);
  }

  /** Ends a waiting call, here or on the replica `holder` that runs it. */
  private cancelWaiting(id: string, holder: string): void {
    const entry = this.waiting.get(id);
    if (entry) {
      this.unpark(id);
      entry.exchange.cancel();
    } else if (holder !== this.relay.origin) this.relay.cancelOn(holder, id);
  }

  /** The next step of a call: its outcome, or an `input_required` result whose state continues it. */
  private async advance<T>(
    exchange: InputExchange<T>,
    op: string,
    declared: ClientCapabilities | undefined,
    signal: AbortSignal,
  ): Promise<T | InputRequiredResult> {
    let step;
    try {
      step = await exchange.next(signal);
    } catch (error) {
      // The caller must sign in at the upstream (per-user OAuth): a URL elicitation, if the client can show one.
      const signIn = signInElicitation(error);
      if (!signIn || !declared?.elicitation?.url) throw error;
      this.handedOut += 1;
      return inputRequired({
        inputRequests: { [SIGN_IN_KEY]: { method: 'elicitation/create', params: signIn } },
        requestState: this.sealUnparked(exchange, op, { signIn: true }),
      });
    }
    if ('done' in step) {
      const asked = step.done;
      if (!isInputRequiredResult(asked)) return step.done;
      // A 2026-07-28 upstream's own input_required: its requests as they are (its keys), its state sealed in ours.
      this.handedOut += 1;
      return inputRequired({
        inputRequests: asked.inputRequests,
        requestState: this.sealUnparked(exchange, op, { upstream: asked.requestState ?? null }),
      });
    }
    // (Only what the client declared is declared upstream; a request past it, should an upstream send one, is
    // answered by the SDK with `-32021` naming the capability, and the call, which cannot get its answer, ends.)
    const missing = missingCapability(step.ask, declared);
    if (missing) exchange.cancel();
    else {
      this.park(exchange);
      this.handedOut += 1;
    }
    return inputRequired({
      // The upstream's requests as its (v1) client received and checked them: the same JSON on the wire.
      inputRequests: step.ask as unknown as InputRequests,
      requestState: this.seal.seal({
        key: exchange.keyRef,
        server: exchange.serverId ?? '',
        op,
        exchange: exchange.id,
        round: exchange.round,
        replica: this.relay.origin,
        expires: Date.now() + INPUT_WAIT_MS,
      }),
    });
  }

  /**
   * The state of a round after which nothing waits on this process (the upstream's own input_required, or the
   * user's sign-in): the retry starts the call again, on any replica.
   */
  private sealUnparked(
    exchange: InputExchange<unknown>,
    op: string,
    how: Pick<SealedState, 'upstream' | 'signIn'>,
  ): string {
    return this.seal.seal({
      key: exchange.keyRef,
      server: exchange.serverId ?? '',
      op,
      exchange: '',
      round: 0,
      replica: this.relay.origin,
      expires: Date.now() + INPUT_WAIT_MS,
      ...how,
    });
  }

  /** The waiting call a round continues, taken off the waiting list (its state is good for one retry). */
  private continued(round: RelayedRound): InputExchange<unknown> {
    const entry = this.waiting.get(round.exchange);
    if (!entry || entry.exchange.round !== round.round || entry.exchange.keyRef !== round.key)
      throw invalidState(
        'the call this requestState continues is no longer waiting for input (it was continued already, or it timed out, or the gateway replica that ran it stopped): call again without requestState',
      );
    this.unpark(round.exchange);
    entry.exchange.answer(round.inputResponses);
    return entry.exchange;
  }

  /** A round of a call waiting on another replica: continued there, its outcome relayed back. */
  private async continueElsewhere<T>(
    holder: string,
    round: RelayedRound,
    signal: AbortSignal,
  ): Promise<T | InputRequiredResult> {
    if (!this.relay.enabled)
      throw invalidState(
        'the call this requestState continues waits on another gateway process, which this one cannot reach: call again without requestState',
      );
    const outcome = await this.relay.continueOn(holder, round, INPUT_WAIT_MS, signal);
    if (!outcome)
      throw invalidState(
        'the gateway replica that runs the call this requestState continues did not answer (it stopped, or the round was too large to hand over): call again without requestState',
      );
    if ('error' in outcome)
      throw protocolError(outcome.error.code, outcome.error.message, outcome.error.data);
    return outcome.result as T | InputRequiredResult;
  }

  /** For another replica: continues one of this process's waiting calls (input-relay.ts). */
  private async continueHere(round: RelayedRound): Promise<RoundOutcome> {
    this.continuedForOthers += 1;
    const abort = new AbortController();
    try {
      const exchange = this.continued(round);
      this.relayed.set(round.exchange, abort);
      try {
        return { result: await this.advance(exchange, round.op, round.declared, abort.signal) };
      } finally {
        this.relayed.delete(round.exchange);
      }
    } catch (error) {
      const { code, message, data } = error as { code?: unknown; message?: string; data?: unknown };
      return {
        error: {
          code: typeof code === 'number' ? code : ErrorCode.InternalError,
          message: message ?? 'the call failed',
          ...(data === undefined ? {} : { data }),
        },
      };
    }
  }

  private park(exchange: InputExchange<unknown>): void {
    exchange.round += 1;
    const mine = [...this.waiting.values()].filter((w) => w.exchange.keyRef === exchange.keyRef);
    if (mine.length >= WAITING_PER_KEY) this.cancelWaiting(mine[0].exchange.id, this.relay.origin);
    const timer = setTimeout(() => this.cancelWaiting(exchange.id, this.relay.origin), INPUT_WAIT_MS);
    timer.unref();
    this.waiting.set(exchange.id, { exchange, timer });
  }

  private unpark(id: string): void {
    const entry = this.waiting.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.waiting.delete(id);
  }
}

/** The key of the gateway's own input request: the user's sign-in at an upstream's authorization server. */
const SIGN_IN_KEY = 'io.mcp-gateway/sign-in';

/** The URL elicitation a call's `-32042` (sign-in required) error carries, as elicitation/create params. */
function signInElicitation(
  error: unknown,
): { mode: 'url'; url: string; elicitationId: string; message: string } | null {
  const { code, data } = error as { code?: unknown; data?: { elicitations?: unknown } };
  if (code !== -32042 || !Array.isArray(data?.elicitations)) return null;
  const first = data.elicitations[0] as { url?: unknown; elicitationId?: unknown; message?: unknown };
  if (typeof first?.url !== 'string') return null;
  return {
    mode: 'url',
    url: first.url,
    elicitationId: typeof first.elicitationId === 'string' ? first.elicitationId : 'sign-in',
    message: typeof first.message === 'string' ? first.message : 'Sign in to continue.',
  };
}

function invalidState(message: string): Error {
  return protocolError(ErrorCode.InvalidParams, `Invalid requestState: ${message}`, {
    reason: 'invalid_request_state',
  });
}

/** Whether the client declared what the requests need (the SDK refuses them with `-32021` if not). */
function missingCapability(
  ask: Record<string, InputRequest>,
  declared: ClientCapabilities | undefined,
): boolean {
  return Object.values(ask).some((request) => {
    if (request.method === 'sampling/createMessage') return !declared?.sampling;
    if (request.method === 'roots/list') return !declared?.roots;
    if (request.params.mode === 'url') return !declared?.elicitation?.url;
    return !declared?.elicitation;
  });
}
