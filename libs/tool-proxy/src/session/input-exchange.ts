import { createHash, randomUUID } from 'node:crypto';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ClientCapabilities,
  ErrorCode,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { effectiveSessionMode, type McpServerRecord } from '@app/mcp-registry';
import { McpCatalog } from '../catalog/catalog.js';
import type { UpstreamConnection } from '../upstream/upstream-connection.js';
import type { SignedIn } from '../upstream/modern-upstreams.js';
import { protocolError } from '../upstream/upstream-errors.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { notAllowed } from './server-requests.js';

/** A request an upstream made of the client, handed to a 2026-07-28 client as an `inputRequests` entry. */
export interface InputRequest {
  method: 'elicitation/create' | 'sampling/createMessage' | 'roots/list';
  params: Record<string, unknown>;
}

/** What comes next for a call: its outcome, or the requests (by key) its upstream waits on. */
export type InputStep<T> = { done: T } | { ask: Record<string, InputRequest> };

/** Requests an upstream sends this close together are handed to the client in one `input_required`. */
const GATHER_MS = 20;
/**
 * Idle per-key upstream connections kept per (key, server, passed-through headers, capabilities), and for how
 * long: as many as the key's peak of concurrent calls (up to this), so that a steady load opens none.
 */
const IDLE_LEASES = 32;
const IDLE_LEASE_MS = 60_000;

const KEY_PREFIX: Record<InputRequest['method'], string> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

interface Pending {
  request: InputRequest;
  resolve(result: Record<string, unknown>): void;
}

/**
 * One call of a 2026-07-28 client (tools/call, prompts/get, resources/read) whose upstream may ask the client for
 * input (sampling, elicitation, roots: server-to-client requests of the 2025 revision). The call runs on; each
 * request the upstream makes waits here, and the client is handed them in an `input_required` result. When the
 * client retries with `inputResponses`, they answer the waiting requests, and the exchange goes on to the next
 * step: the outcome, or the next requests. A request the client did not answer is asked again.
 */
export class InputExchange<T> {
  readonly id = randomUUID();
  /** Rounds handed to the client so far: a state from an earlier round is refused (no replay). */
  round = 0;
  /** The upstream server the call runs on, once it is resolved (the sealed state names it). */
  serverId: string | null = null;
  lease: Lease | null = null;
  private readonly pending = new Map<string, Pending>();
  private asked = 0;
  private outcome: { value: T } | { error: unknown } | null = null;
  private wake: (() => void) | null = null;
  private readonly abort = new AbortController();
  private readonly settledListeners: (() => void)[] = [];

  /** `capabilities`: what the client declared it can be asked (forwardedCapabilities). */
  constructor(
    readonly keyRef: string,
    readonly capabilities: ClientCapabilities,
  ) {}

  start(run: (signal: AbortSignal) => Promise<T>): void {
    run(this.abort.signal).then(
      (value) => this.settle({ value }),
      (error: unknown) => this.settle({ error }),
    );
  }

  onSettled(listener: () => void): void {
    if (this.outcome) listener();
    else this.settledListeners.push(listener);
  }

  /** From the upstream's connection: a request that waits for the client's answer (or the call's end). */
  ask(request: InputRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (this.outcome)
      return Promise.reject(
        protocolError(ErrorCode.InvalidRequest, 'the call this request belongs to is over'),
      );
    const key = `${KEY_PREFIX[request.method]}_${++this.asked}`;
    return new Promise((resolve, reject) => {
      this.pending.set(key, { request, resolve });
      const gone = () => {
        this.pending.delete(key);
        reject(protocolError(ErrorCode.InvalidRequest, 'the request was cancelled'));
      };
      signal.addEventListener('abort', gone, { once: true });
      this.abort.signal.addEventListener('abort', gone, { once: true });
      this.poke();
    });
  }

  /**
   * The client's answers, by the keys it was handed. An answer must be a result object; anything else (or a key
   * not asked) is ignored, and what stays unanswered is asked again.
   */
  answer(responses: Record<string, unknown> | undefined): void {
    for (const [key, value] of Object.entries(responses ?? {})) {
      const waiting = this.pending.get(key);
      if (!waiting || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      this.pending.delete(key);
      waiting.resolve(value as Record<string, unknown>);
    }
  }

  /** The next step: the call's outcome, or the requests its upstream waits on. `signal`: the client went away. */
  async next(signal: AbortSignal): Promise<InputStep<T>> {
    const gone = () => this.cancel();
    signal.addEventListener('abort', gone, { once: true });
    try {
      for (;;) {
        if (this.outcome) {
          if ('error' in this.outcome) throw this.outcome.error;
          return { done: this.outcome.value };
        }
        if (this.pending.size) {
          // Requests sent together (an upstream asking for several inputs at once) go out together.
          await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
          if (this.outcome) continue;
          if (this.pending.size)
            return { ask: Object.fromEntries([...this.pending].map(([key, p]) => [key, p.request])) };
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', gone);
    }
  }

  /** Ends the call: the upstream is told (cancellation), its waiting requests are refused. */
  cancel(): void {
    if (!this.outcome) this.abort.abort();
  }

  private settle(outcome: { value: T } | { error: unknown }): void {
    this.outcome = outcome;
    this.poke();
    for (const listener of this.settledListeners.splice(0)) listener();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** A per-key upstream connection, lent to one exchange at a time. */
interface Lease {
  slot: string;
  connection: UpstreamConnection;
  exchange: InputExchange<unknown> | null;
  idleTimer?: NodeJS.Timeout;
}

/**
 * The upstream connections of 2026-07-28 calls. A `shared` server is reached on the pool's shared connection,
 * as a 2025 session would. A `per_client` server gets a connection of the caller's key (per key, server and
 * passed-through headers and declared capabilities; one per call in flight, kept for a minute once idle): it
 * declares upstream what the client declared of sampling, elicitation and roots, and routes what the upstream
 * asks to the call's exchange, from where it reaches the client as `input_required`. A stateless client has no session to own an upstream session, so its key does.
 */
@Injectable()
export class InputLeases implements OnModuleDestroy {
  private readonly idle = new Map<string, Lease[]>();
  private readonly updateListeners = new Set<(uri: string) => void>();

  constructor(
    private readonly pool: UpstreamPool,
    private readonly catalog: McpCatalog,
  ) {}

  async onModuleDestroy(): Promise<void> {
    const leases = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(leases.map((lease) => this.close(lease)));
  }

  /** Resource updates an upstream sends on a key's connection (the 2026 listen streams relay them). */
  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** The connection an exchange's call uses to `server` (the same one if the call asks again, on a retry). */
  connectionFor(
    exchange: InputExchange<unknown>,
    server: McpServerRecord,
    headers: Record<string, string>,
    signedIn?: SignedIn,
  ): UpstreamConnection {
    exchange.serverId = server.serverId;
    if (effectiveSessionMode(server) === 'shared') return this.pool.sharedFor(server, headers, signedIn);
    if (exchange.lease) return exchange.lease.connection;
    const slot = createHash('sha256')
      .update(
        JSON.stringify([
          exchange.keyRef,
          server.serverId,
          Object.entries(headers).sort(),
          exchange.capabilities,
          signedIn?.owner ?? null,
        ]),
      )
      .digest('hex');
    const lease =
      this.idle.get(slot)?.pop() ?? this.open(slot, server, headers, exchange.capabilities, signedIn);
    clearTimeout(lease.idleTimer);
    lease.exchange = exchange;
    exchange.lease = lease;
    exchange.onSettled(() => this.giveBack(lease));
    return lease.connection;
  }

  private open(
    slot: string,
    server: McpServerRecord,
    headers: Record<string, string>,
    capabilities: ClientCapabilities,
    signedIn: SignedIn | undefined,
  ): Lease {
    const lease: Lease = { slot, exchange: null, connection: null as unknown as UpstreamConnection };
    lease.connection = this.pool.openForClient(
      server,
      headers,
      {
        capabilities,
        onListChanged: (kind) => this.catalog.invalidate(server.serverId, [kind]),
        configure: (client) => {
          routeToExchange(client, server, () => lease.exchange);
          client.setNotificationHandler(ResourceUpdatedNotificationSchema, ({ params }) => {
            for (const listener of this.updateListeners) listener(params.uri);
          });
        },
      },
      signedIn,
    );
    return lease;
  }

  private giveBack(lease: Lease): void {
    lease.exchange = null;
    const idle = this.idle.get(lease.slot) ?? [];
    if (idle.length >= IDLE_LEASES) return void this.close(lease);
    idle.push(lease);
    this.idle.set(lease.slot, idle);
    lease.idleTimer = setTimeout(() => {
      const at = idle.indexOf(lease);
      if (at !== -1) idle.splice(at, 1);
      if (!idle.length) this.idle.delete(lease.slot);
      void this.close(lease);
    }, IDLE_LEASE_MS);
    lease.idleTimer.unref();
  }

  private async close(lease: Lease): Promise<void> {
    clearTimeout(lease.idleTimer);
    await this.pool.release(lease.connection).catch(() => undefined);
  }
}

/** What the upstream asks on a leased connection goes to the exchange it is lent to (or is refused). */
function routeToExchange(
  client: Client,
  server: McpServerRecord,
  current: () => InputExchange<unknown> | null,
): void {
  const ask = (
    method: InputRequest['method'],
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
    refusedBy?: string,
  ) => {
    if (refusedBy) return Promise.reject(notAllowed(server, KEY_PREFIX[method], refusedBy));
    const exchange = current();
    if (!exchange)
      return Promise.reject(
        protocolError(ErrorCode.InvalidRequest, `no call of this client is in progress to ask for ${method}`),
      );
    // The upstream's own `_meta` (its progress token, related task) means nothing to the client.
    const { _meta: _ignored, ...rest } = params ?? {};
    return exchange.ask({ method, params: rest }, signal);
  };
  // One handler for all three (and whatever the client did not declare: the SDK then answers the client
  // `-32021` naming the capability the upstream needed, the 2026-07-28 error for exactly that).
  client.fallbackRequestHandler = (request, extra) => {
    const method = request.method as InputRequest['method'];
    if (!Object.hasOwn(KEY_PREFIX, method))
      return Promise.reject(
        protocolError(
          ErrorCode.MethodNotFound,
          `the client behind the gateway does not support ${request.method}`,
        ),
      );
    const refusedBy =
      method === 'sampling/createMessage' && server.allowSampling === false
        ? 'allow_sampling'
        : method === 'elicitation/create' && server.allowElicitation === false
          ? 'allow_elicitation'
          : undefined;
    return ask(method, request.params, extra.signal, refusedBy);
  };
}
