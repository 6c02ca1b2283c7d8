import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type CallToolResult,
  ErrorCode,
  type GetPromptResult,
  McpError,
  type Progress,
  type ReadResourceResult,
  ResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  isInputRequiredResult,
  ProtocolError as ModernProtocolError,
  SdkError,
  SdkErrorCode,
  type Tool as ModernTool,
} from '@modelcontextprotocol/client';
import { AppError } from '@app/core';
import { DrainState, GatewayMetrics, SpendLedger, Tracing } from '@app/observability';
import type { McpServerRecord } from '@app/mcp-registry';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { UpstreamHttpError } from '../upstream/http-wire.js';
import { passThroughHeaders } from '../upstream/pass-through-headers.js';
import type { UpstreamConnection } from '../upstream/upstream-connection.js';
import { redactSecrets, summariseForCaller } from '../upstream/secret-redactor.js';
import { describeError, isMcpError, UpstreamUnavailableError } from '../upstream/upstream-errors.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { passesAuthorization } from '../upstream/upstream-dialer.js';
import { type ModernClient, ModernUpstreams, type SignedIn } from '../upstream/modern-upstreams.js';
import {
  BudgetExceededError,
  RateLimitedError,
  ResourceNotFoundError,
  ToolArgumentsNotAllowedError,
  ToolNotFoundError,
} from '../tool-proxy.errors.js';
import { ServerTurns } from './server-turns.js';
import {
  needsSignIn,
  type SignInContext,
  signInRequired,
  UpstreamSignIns,
} from '../oauth/upstream-sign-ins.js';
import { CallRecorder, costOf } from './call-recorder.js';
import { RateLimiter } from './rate-limiter.js';
import { limitsFor } from './rate-limits.js';

/** Rounds of input_required the gateway answers for a 2025 session in one call before it gives up. */
const MAX_ASKED_ROUNDS = 10;

/** Default per-call timeout when the server sets none. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** How a call ended: one vocabulary for MCP, REST, the audit line and (later) metrics. */
export type CallOutcome = 'ok' | 'tool_error' | 'upstream_error' | 'timeout' | 'denied' | 'cancelled';

/** Why a call that produced no result failed (the transports map it: MCP to a result or error, REST to a status). */
export type FailureKind = 'unavailable' | 'timeout' | 'refused' | 'failed' | 'cancelled';

export interface CallFailure {
  kind: FailureKind;
  /** Safe to show the caller (no URL, no credential). */
  message: string;
  /** `refused`: the upstream's JSON-RPC error, relayed as is. */
  rpc?: { code: number; message: string; data?: unknown };
  /** The caller must sign in at the upstream's authorization server first (oauth2 authorization_code). */
  authorizationUrl?: string;
}

export type Settled<T> =
  | { outcome: 'ok' | 'tool_error'; result: T }
  | { outcome: Exclude<CallOutcome, 'ok' | 'tool_error' | 'denied'>; failure: CallFailure };

export interface CallOptions {
  /** Where the call came from (the audit line says it). */
  via: 'mcp' | 'rest' | 'chat';
  /** The request's MCP `_meta` (a client's `traceparent` is read from it). */
  meta?: Record<string, unknown>;
  /** The client's MCP session and JSON-RPC request id (span attributes). */
  sessionId?: string;
  rpcId?: string | number;
  /** The client's request headers: those that belong to the upstream are passed through. */
  headers: IncomingHttpHeaders;
  /** Aborted when the client cancels or goes away: the upstream gets `notifications/cancelled`. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /**
   * The connection to use (a session's own per-client one); default: the pool's shared one. `signedIn`: the
   * caller's own upstream credential, for a server each user signs in to (the connection must use it).
   */
  connection?: (
    server: McpServerRecord,
    headers: Record<string, string>,
    signedIn?: SignedIn,
  ) => UpstreamConnection;
  /** The caller may see upstream error details (redacted of secrets); others get a first line. Default: no. */
  admin?: boolean;
  /** An unprefixed scope (single server) also accepts the name as listed with its prefix (REST twins). */
  alsoPrefixed?: boolean;
  /** Told which server a call goes to once it is resolved; the returned function runs when it settles. */
  track?: (serverId: string) => () => void;
  /**
   * A 2026-07-28 caller's call (issue 19): goes to the upstream over 2026-07-28 when it speaks it
   * (modern-upstreams.ts), with the caller's declared capabilities and, on a retry, its answers to the upstream's
   * `input_required` and the upstream's own `requestState`; such a result comes back as it is.
   */
  modern?: ModernRound;
  /** A 2025 session's client, for a server pinned to 2026-07-28 that asks it something (input_required). */
  asker?: InputAsker;
  /** Whose upstream sign-in calls to oauth2 authorization_code servers use (filled from the caller's scope). */
  signIn?: SignInContext;
}

/** A 2025 session's client, asked on the upstream's behalf when a 2026-07-28 upstream answers input_required. */
export interface InputAsker {
  /** What the client declared it can be asked (sampling, elicitation, roots). */
  capabilities: Record<string, unknown>;
  /** One of the upstream's input requests, put to the client; its result (or the client's refusal, thrown). */
  ask(
    server: McpServerRecord,
    request: { method: string; params?: unknown },
    signal: AbortSignal | undefined,
    /** The client's request the question belongs to. */
    requestId: string | number | undefined,
  ): Promise<unknown>;
}

export interface ModernRound {
  /** What the caller declared it can be asked (sampling, elicitation, roots), declared upstream as its own. */
  capabilities: Record<string, unknown>;
  inputResponses?: Record<string, unknown>;
  requestState?: string;
}

/** One request on a connected upstream client, within `timeout` ms, cancelled upstream when `signal` aborts. */
type Invoke<T> = (client: Client, options: { timeout: number; signal?: AbortSignal }) => Promise<T>;
/** The same request on a 2026-07-28 upstream (SDK v2's client), with the round's `_meta` and parameters. */
type InvokeModern<T> = (
  client: ModernClient,
  options: { timeout: number; signal?: AbortSignal },
  round: { _meta: Record<string, unknown>; resume: Record<string, unknown> },
) => Promise<T>;

/**
 * The one path from a caller to an upstream, for MCP sessions, the REST twins and (later) chat completions:
 * name resolution under the caller's access, then one bounded attempt (timeout_ms covers connecting,
 * initialize and the call), retried once on a new upstream session when the upstream restarted and refused the
 * old one before running anything, cancelled upstream when the caller goes away, and one outcome.
 */
@Injectable()
export class ToolCaller {
  /** Turns per server for max_concurrent_requests (per process). */
  private readonly turns = new ServerTurns(() => new CallTimeoutError());

  constructor(
    private readonly view: GatewayView,
    private readonly pool: UpstreamPool,
    private readonly drain: DrainState,
    private readonly recorder: CallRecorder,
    private readonly ledger: SpendLedger,
    private readonly tracing: Tracing,
    private readonly metrics: GatewayMetrics,
    private readonly limiter: RateLimiter,
    private readonly modern: ModernUpstreams,
    private readonly signIns: UpstreamSignIns,
  ) {}

  /** Calls a tool by its exposed name; a name the caller may not use is a ToolNotFoundError. */
  async callTool(
    scope: CallerScope,
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<Settled<CallToolResult>> {
    const started = performance.now();
    const span = this.tracing.startCall({
      tool: name,
      metaTraceparent: options.meta?.traceparent,
      sessionId: options.sessionId,
      rpcId: options.rpcId,
    });
    const { auth } = scope;
    const record = (
      server: McpServerRecord | null,
      tool: string,
      outcome: CallOutcome,
      extra: { failure?: FailureKind; error?: string; cost?: number } = {},
    ) =>
      this.recorder.record({
        auth,
        server,
        tool,
        outcome,
        started,
        via: options.via,
        span,
        cost: extra.cost ?? 0,
        failure: extra.failure,
        error: extra.error,
      });
    let target;
    try {
      target = await this.resolveTool(scope, name, options);
    } catch (error) {
      record(null, name, 'denied', { error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    const { server } = target;
    const tool = target.name;
    span.server(server.alias, tool);
    const allowed = server.allowedParams?.[tool];
    const refused = allowed ? Object.keys(args ?? {}).filter((arg) => !allowed.includes(arg)) : [];
    if (allowed && refused.length) {
      const error = new ToolArgumentsNotAllowedError(tool, server.serverName, refused, allowed);
      record(server, tool, 'denied', { error: error.message });
      throw error;
    }
    // Rate limits (only when some apply): counted before the call runs, refused when one is reached.
    const limits = limitsFor(auth, server, tool);
    if (limits.length) {
      let refusal;
      try {
        refusal = await this.limiter.take(limits);
      } catch (error) {
        record(server, tool, 'denied', { error: error instanceof Error ? error.message : String(error) });
        throw error;
      }
      if (refusal) {
        const error = new RateLimitedError(refusal);
        record(server, tool, 'denied', { error: error.message });
        throw error;
      }
    }
    // Budgets: the cost is held before the call runs (refused if it would take a budget past max_budget).
    const cost = costOf(server, tool);
    const held = this.ledger.hold(auth.budgets, cost);
    if ('refused' in held) {
      const error = new BudgetExceededError(held.refused);
      this.metrics.budgetRefused(held.refused.kind);
      record(server, tool, 'denied', { error: error.message });
      throw error;
    }
    const progress = options.onProgress
      ? { onprogress: options.onProgress, resetTimeoutOnProgress: false }
      : {};
    let settled: Settled<CallToolResult>;
    try {
      settled = await this.run<CallToolResult>(
        server,
        tool,
        this.signedInOptions(server, scope, options),
        (client, limits) =>
          // The result is validated once, by the downstream server as it answers (the SDK's callTool would
          // parse it fully and check its structured content on every call, for nothing).
          client.request(
            {
              method: 'tools/call',
              params: {
                name: tool,
                arguments: args ?? {},
                // The gateway's span as the upstream's parent (also sent as the traceparent header).
                _meta: { traceparent: span.traceparent },
              },
            },
            ResultSchema,
            { ...limits, ...progress },
          ) as Promise<CallToolResult>,
        (client, limits, round) =>
          client.callTool(
            {
              name: tool,
              arguments: args ?? {},
              _meta: { traceparent: span.traceparent, ...round._meta },
              ...round.resume,
            },
            {
              ...limits,
              ...progress,
              allowInputRequired: true,
              // Its x-mcp-header declarations become Mcp-Param-* headers.
              ...(target.item?.inputSchema ? { toolDefinition: target.item as ModernTool } : {}),
            },
          ) as Promise<CallToolResult>,
      );
    } catch (error) {
      held.settle(false);
      record(server, tool, 'upstream_error', {
        error: error instanceof AppError ? error.message : 'internal error',
      });
      throw error;
    }
    const outcome =
      settled.outcome === 'ok' && settled.result.isError ? ('tool_error' as const) : settled.outcome;
    // An input_required result (2026-07-28) is a round of the call, not its end: its cost is on the last round.
    const ran = (outcome === 'ok' || outcome === 'tool_error') && !isInputRequired(settled);
    held.settle(ran);
    const failure = 'failure' in settled ? settled.failure : undefined;
    record(server, tool, outcome, {
      failure: failure?.kind,
      error: failure?.message ?? (outcome === 'tool_error' ? 'the tool returned an error result' : undefined),
      cost: ran ? cost : 0,
    });
    return outcome === 'tool_error' && 'result' in settled ? { outcome, result: settled.result } : settled;
  }

  private async resolveTool(scope: CallerScope, name: string, options: CallOptions) {
    try {
      return await this.view.resolveTool(scope, name);
    } catch (error) {
      if (scope.prefixed || !options.alsoPrefixed || !(error instanceof ToolNotFoundError)) throw error;
      return this.view.resolveTool({ ...scope, prefixed: true }, name);
    }
  }

  /** Reads a resource from the server that offers it; an unknown URI is a ResourceNotFoundError. */
  async readResource(
    scope: CallerScope,
    uri: string,
    options: CallOptions,
  ): Promise<Settled<ReadResourceResult>> {
    const server = await this.view.resolveResource(scope, uri);
    if (!server) throw new ResourceNotFoundError(uri);
    return this.run(
      server,
      uri,
      this.signedInOptions(server, scope, options),
      (client, limits) => client.readResource({ uri }, limits),
      (client, limits, round) =>
        client.request(
          { method: 'resources/read', params: { uri, _meta: round._meta, ...round.resume } },
          { ...limits, allowInputRequired: true },
        ) as Promise<ReadResourceResult>,
    );
  }

  /** Gets a prompt by its exposed name. */
  async getPrompt(
    scope: CallerScope,
    name: string,
    args: Record<string, string> | undefined,
    options: CallOptions,
  ): Promise<Settled<GetPromptResult>> {
    const target = await this.view.resolvePrompt(scope, name);
    return this.run(
      target.server,
      target.name,
      this.signedInOptions(target.server, scope, options),
      (client, limits) => client.getPrompt({ name: target.name, arguments: args }, limits),
      (client, limits, round) =>
        client.request(
          {
            method: 'prompts/get',
            params: { name: target.name, arguments: args, _meta: round._meta, ...round.resume },
          },
          { ...limits, allowInputRequired: true },
        ) as Promise<GetPromptResult>,
    );
  }

  /** The options with the caller's own upstream sign-in, for a server that needs one (else unchanged). */
  private signedInOptions(server: McpServerRecord, scope: CallerScope, options: CallOptions): CallOptions {
    return options.signIn || !needsSignIn(server)
      ? options
      : { ...options, signIn: this.signIns.context(scope) };
  }

  /** Any other request to a server the caller already resolved (completions), on the same terms. */
  request<T>(server: McpServerRecord, what: string, options: CallOptions, invoke: Invoke<T>) {
    return this.run(server, what, options, invoke);
  }

  private async run<T>(
    server: McpServerRecord,
    what: string,
    options: CallOptions,
    invoke: Invoke<T>,
    invokeModern?: InvokeModern<T>,
  ): Promise<Settled<T>> {
    const timeout = server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const deadline = Date.now() + timeout;
    const headers = passThroughHeaders(server, options.headers);
    // A server each user signs in to: the caller's own credential (and connections), unless they pass their own.
    const signedIn =
      options.signIn && needsSignIn(server) && !passesAuthorization(headers)
        ? { owner: options.signIn.owner, credential: this.signIns.credential(server, options.signIn) }
        : undefined;
    const connect =
      options.connection ??
      ((s: McpServerRecord, h: Record<string, string>, si?: SignedIn) => this.pool.sharedFor(s, h, si));
    const done = this.drain.start();
    const untrack = options.track?.(server.serverId);
    let release: (() => void) | null = null;
    try {
      // max_concurrent_requests: wait for a turn, within the call's own deadline and cancellation.
      if (server.maxConcurrentRequests !== null) {
        try {
          release = await this.turns.take(server, deadline, options.signal);
        } catch (error) {
          return this.failure(server, what, timeout, error, options);
        }
      }
      for (let attempt = 0; ; attempt++) {
        try {
          // Not signed in yet (or the sign-in lapsed): the sign-in URL, before any connection is tried.
          if (signedIn) await signedIn.credential.headers();
          // A 2026-07-28 caller, to an upstream that speaks it (asked once per server in `auto`).
          // Everyone else too, to a server pinned to 2026-07-28 (it may speak nothing else), asked on its behalf.
          const round =
            options.modern ??
            (server.protocolVersion === '2026-07-28'
              ? { capabilities: options.asker?.capabilities ?? {} }
              : undefined);
          const modern =
            round && invokeModern && ModernUpstreams.mayBeModern(server)
              ? await this.within(this.modern.clientFor(server, headers, signedIn), deadline, options.signal)
              : null;
          if (round && invokeModern && modern) {
            const limits = { timeout: Math.max(1, deadline - Date.now()), signal: options.signal };
            const resume = {
              ...(round.inputResponses ? { inputResponses: round.inputResponses } : {}),
              ...(round.requestState !== undefined ? { requestState: round.requestState } : {}),
            };
            // allow_sampling / allow_elicitation: false: not declared upstream, so the upstream may not ask it.
            const { sampling, elicitation, ...rest } = round.capabilities;
            const capabilities = {
              ...rest,
              ...(sampling && server.allowSampling !== false ? { sampling } : {}),
              ...(elicitation && server.allowElicitation !== false ? { elicitation } : {}),
            };
            const _meta = { [CLIENT_CAPABILITIES_META_KEY]: capabilities };
            let result = await fromModern(invokeModern(modern, limits, { _meta, resume }));
            // A 2026-07-28 caller gets an input_required as it is; for anyone else the gateway asks (a 2025 session's
            // client, with server-to-client requests) and sends the answers back, round after round.
            for (let rounds = 0; !options.modern && isInputRequiredResult(result); rounds++) {
              const asked = Object.entries(result.inputRequests ?? {});
              if (!options.asker || rounds >= MAX_ASKED_ROUNDS)
                throw new McpError(
                  ErrorCode.InvalidRequest,
                  options.asker
                    ? `MCP server ${server.serverName} kept asking for input after ${MAX_ASKED_ROUNDS} rounds`
                    : `MCP server ${server.serverName} needs input from its client (${asked.map(([, r]) => r.method).join(', ')}) for ${what}, which a ${options.via} call cannot give: call it from an MCP client`,
                );
              const asker = options.asker;
              const answers = await Promise.all(
                asked.map(async ([key, request]) => [
                  key,
                  await asker.ask(server, request, options.signal, options.rpcId),
                ]),
              );
              const next = {
                inputResponses: Object.fromEntries(answers) as Record<string, unknown>,
                ...(result.requestState !== undefined ? { requestState: result.requestState } : {}),
              };
              const left = { timeout: Math.max(1, deadline - Date.now()), signal: options.signal };
              result = await fromModern(invokeModern(modern, left, { _meta, resume: next }));
            }
            return { outcome: 'ok', result };
          }
          const connection = connect(server, headers, signedIn);
          const client = connection.live() ?? (await this.within(connection.get(), deadline, options.signal));
          const limits = { timeout: Math.max(1, deadline - Date.now()), signal: options.signal };
          return { outcome: 'ok', result: await invoke(client, limits) };
        } catch (error) {
          // The upstream restarted and refused the session before running anything: once more, on a new one.
          const lost = error instanceof UpstreamHttpError && error.sessionLost;
          if (attempt === 0 && lost && !options.signal?.aborted && Date.now() < deadline) continue;
          return this.failure(server, what, timeout, error, options);
        }
      }
    } finally {
      release?.();
      untrack?.();
      done();
    }
  }

  /**
   * Waits for a connection to connect (and initialize), bounded by the call's deadline and the caller's
   * cancellation. Only when it is not connected yet: the hot path sets no timer.
   */
  private async within<C>(connecting: Promise<C>, deadline: number, signal?: AbortSignal): Promise<C> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new CallTimeoutError()),
      Math.max(0, deadline - Date.now()),
    );
    const onCancel = () => controller.abort(signal?.reason);
    if (signal?.aborted) onCancel();
    else signal?.addEventListener('abort', onCancel, { once: true });
    try {
      return await abortable(connecting, controller.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCancel);
    }
  }

  private failure<T>(
    server: McpServerRecord,
    what: string,
    timeout: number,
    error: unknown,
    options: CallOptions,
  ): Settled<T> {
    const name = server.serverName;
    // Anything the upstream wrote may carry its own credentials back: every server secret is replaced, and
    // callers without admin rights get its first line only (issue 15).
    const passed = Object.values(passThroughHeaders(server, options.headers));
    const safe = (text: string) => summariseForCaller(server, text, options.admin === true, passed);
    if (options.signal?.aborted)
      return { outcome: 'cancelled', failure: { kind: 'cancelled', message: `${what} was cancelled` } };
    if (isTimeout(error))
      return {
        outcome: 'timeout',
        failure: {
          kind: 'timeout',
          message: `MCP server ${name} did not answer ${what} within ${timeout} ms`,
        },
      };
    const signIn = signInRequired(error);
    if (signIn)
      return {
        outcome: 'upstream_error',
        failure: {
          kind: 'refused',
          message: `${signIn.message}: ${signIn.url}`,
          rpc: {
            code: URL_ELICITATION_REQUIRED,
            message: signIn.message,
            data: {
              elicitations: [
                {
                  mode: 'url',
                  elicitationId: signIn.elicitationId,
                  url: signIn.url,
                  message: `Sign in to ${signIn.server.serverName} to let the gateway call it on your behalf.`,
                },
              ],
            },
          },
          authorizationUrl: signIn.url,
        },
      };
    if (error instanceof UpstreamUnavailableError)
      return { outcome: 'upstream_error', failure: { kind: 'unavailable', message: safe(error.message) } };
    if (error instanceof McpError && error.code !== (ErrorCode.ConnectionClosed as number))
      return {
        outcome: 'upstream_error',
        failure: {
          kind: 'refused',
          message: safe(`MCP server ${name} refused ${what}: ${describeError(error)}`),
          rpc: {
            code: error.code,
            message: safe(error.message.replace(/^MCP error -?\d+: /, '')),
            // Structured data is relayed to admins only (and to everyone for the errors whose data the protocol
            // defines, which clients act on), and only when no secret could hide in it.
            data:
              options.admin || SPEC_DATA_CODES.has(error.code)
                ? redactedData(server, error.data, passed)
                : undefined,
          },
        },
      };
    return {
      outcome: 'upstream_error',
      failure: {
        kind: 'failed',
        message: safe(`MCP server ${name} failed on ${what}: ${describeError(error)}`),
      },
    };
  }
}

/** The call's own deadline (timeout_ms) passed, wherever it was: connecting, initializing or waiting. */
class CallTimeoutError extends Error {
  constructor() {
    super('timed out');
  }
}

/**
 * JSON-RPC errors whose `data` the MCP specification defines and clients act on: -32021 (a missing client
 * capability: `requiredCapabilities`), -32022 (an unsupported protocol version: `supported`), -32042 (URL
 * elicitation required: `elicitations`).
 */
const SPEC_DATA_CODES: ReadonlySet<number> = new Set([-32021, -32022, -32042]);

/** JSON-RPC code of MCP's URL elicitation required error: the caller must open a URL first (a sign-in). */
const URL_ELICITATION_REQUIRED = -32042;

/** An upstream error's data, when it carries no secret of the server (else nothing: it is not ours to edit). */
function redactedData(server: McpServerRecord, data: unknown, passed: readonly string[]): unknown {
  if (data === undefined) return undefined;
  const text = JSON.stringify(data);
  return text === undefined || redactSecrets(server, text, passed) !== text ? undefined : data;
}

/** Whether a settled call is a 2026-07-28 `input_required` round. */
function isInputRequired(settled: Settled<unknown>): boolean {
  return 'result' in settled && isInputRequiredResult(settled.result);
}

/** SDK v2's errors as v1's, for one failure vocabulary: a JSON-RPC error relayed, a timeout a timeout. */
async function fromModern<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ModernProtocolError)
      throw new McpError(error.code, error.message.replace(/^MCP error -?\d+: /, ''), error.data);
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) throw new CallTimeoutError();
    throw error;
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof CallTimeoutError || isMcpError(error, ErrorCode.RequestTimeout);
}

/** Settles with the signal's reason as soon as it aborts, whatever `work` is still waiting for (a connect). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
