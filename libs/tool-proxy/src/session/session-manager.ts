import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { InitializeRequest, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ClientCapabilities } from '@modelcontextprotocol/server';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { ChangeBus, type ChangeEvent } from '@app/database';
import { GatewayMetrics } from '@app/observability';
import { ToolCaller } from '../calls/tool-caller.js';
import { McpCatalog } from '../catalog/catalog.js';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { TooManySessionsError } from '../tool-proxy.errors.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { UpstreamSignIns } from '../oauth/upstream-sign-ins.js';
import { GatewaySession } from './gateway-session.js';
import { McpOperations } from './mcp-operations.js';
import { type SessionPatch, SessionStore, type StoredSession } from './session-store.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';

/** Last activity is written to the session store this often at most (in one batch; sooner with short timeouts). */
const TOUCH_FLUSH_MS = 5000;
/** A relayed list_changed this soon after the same one was sent here is a duplicate (every replica sends it). */
const LIST_CHANGED_DEDUP_MS = 2000;

/** What other replicas say about client sessions, over the change bus. */
type SessionSignal =
  /** The session is over (DELETE, idle expiry): copies elsewhere let go of it. */
  | { op: 'ended'; id: string }
  /** The client's standalone GET stream opened (or closed) on replica `holder`. */
  | { op: 'stream'; id: string; holder: string | null }
  /** A message for the session's standalone stream, from a replica that does not hold it. */
  | { op: 'notify'; id: string; message: JSONRPCMessage }
  /** A legacy SSE client's message, posted to a replica that does not hold its stream. */
  | { op: 'sse'; id: string; message: JSONRPCMessage }
  /** A client's answer to another replica's request, or its cancellation of a request in flight elsewhere. */
  | { op: 'client'; id: string; message: JSONRPCMessage }
  /** The log level or the subscriptions changed (copies elsewhere filter and relay with them). */
  | { op: 'state'; id: string; patch: SessionPatch };

/** A new session's particulars, as the session store keeps them. */
export interface SessionOpening {
  id: string;
  path: string;
  /** The client's `initialize` (legacy SSE: not known yet when the stream opens). */
  initialize: InitializeRequest['params'] | null;
}

/** A request naming a session this process does not hold. */
export interface ResumeRequest {
  id: string;
  /** The path it came through (a session is continued only on the path it was opened on). */
  path: string;
  /** The caller's key (null: the master key): a session is continued only for the key that opened it. */
  keyId: string | null;
  /** The caller's scope through that path, as the door computes it. */
  scopeOf: () => CallerScope;
  headers: IncomingHttpHeaders;
}

/**
 * Client sessions: the ones this process serves, by id, and the session store that lets any replica (or this
 * process after a restart) continue one. A session is saved when it opens, continued from the store when a
 * request names one this process does not hold, and ended everywhere at DELETE or idle expiry. Last activity
 * is written in batches; copies idle here while the client goes on elsewhere are let go of, not ended.
 */
@Injectable()
export class McpSessionManager implements OnModuleDestroy {
  private readonly logger = new Logger('Gateway');
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly pending = new Set<GatewaySession>();
  /** The transport of each open session (for the sessions gauge). */
  private readonly transports = new Map<GatewaySession, 'streamable_http' | 'sse'>();
  /** Which replica holds each session's standalone stream, when another one does. */
  private readonly streamsElsewhere = new Map<string, string>();
  private readonly resuming = new Map<string, Promise<GatewaySession | null>>();
  private readonly lastListChanged = new Map<string, number>();
  /** Sessions this process ended lately (their removal is not repeated by the close that follows). */
  private readonly forgotten = new Set<string>();
  private readonly reaper: NodeJS.Timeout;
  private readonly flusher: NodeJS.Timeout;
  private flushedAt = Date.now();
  private resumed = 0;

  constructor(
    private readonly view: GatewayView,
    private readonly pool: UpstreamPool,
    private readonly catalog: McpCatalog,
    private readonly caller: ToolCaller,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    metrics: GatewayMetrics,
    private readonly store: SessionStore,
    private readonly bus: ChangeBus,
    private readonly operations: McpOperations,
    private readonly signIns: UpstreamSignIns,
  ) {
    metrics.labeledGauge(
      'mcp_client_sessions',
      'Client MCP sessions open on this process, by transport',
      'transport',
      () => {
        const counts: Record<string, number> = { streamable_http: 0, sse: 0 };
        for (const transport of this.transports.values()) counts[transport]++;
        return counts;
      },
    );
    metrics.counter(
      'mcp_client_sessions_resumed_total',
      'Client sessions this process continued from the session store (opened on another replica or before a restart)',
      () => this.resumed,
    );
    const every = Math.max(1000, Math.min(60_000, config.mcp.sessionIdleTimeoutMs / 4));
    this.reaper = setInterval(() => void this.reapIdle(), every);
    this.reaper.unref();
    const flushEvery = Math.max(200, Math.min(TOUCH_FLUSH_MS, config.mcp.sessionIdleTimeoutMs / 4));
    this.flusher = setInterval(() => void this.flushTouches(), flushEvery);
    this.flusher.unref();
    bus.subscribe((event) => this.onSignal(event));
  }

  /** Set once the process lets go of its sessions (shutdown): it continues no other. */
  closing = false;

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    clearInterval(this.reaper);
    clearInterval(this.flusher);
    await this.flushTouches();
    // This process lets go of its sessions; clients continue them on another replica or after the restart. A
    // legacy SSE session cannot be continued (its stream is gone with this process).
    await Promise.all(
      [...this.sessions.values(), ...this.pending].map((s) =>
        s.close(s.transport instanceof SSEServerTransport),
      ),
    );
  }

  get(id: string): GatewaySession | undefined {
    return this.sessions.get(id);
  }

  /**
   * A new session for this caller (429 past `max_sessions_per_key`, counted over every replica), saved in the
   * session store before its `initialize` is answered, so that its next request may reach any replica.
   */
  async create(
    scope: CallerScope,
    headers: IncomingHttpHeaders,
    transport: Transport,
    opening: SessionOpening,
  ): Promise<GatewaySession> {
    const keyId = scope.auth.keyId;
    const now = Date.now();
    const local = [...this.sessions.values(), ...this.pending].filter((s) => s.keyId === keyId).length;
    const shared = await this.store
      .countForKey(keyId, now - this.config.mcp.sessionIdleTimeoutMs)
      .catch((error: unknown) => this.storeFailed('count sessions', error, 0));
    const live = Math.max(local, shared);
    if (live >= this.config.mcp.maxSessionsPerKey) {
      throw new TooManySessionsError(live, this.config.mcp.maxSessionsPerKey);
    }
    const session = this.build(scope, headers, transport);
    session.path = opening.path;
    const kind = transport instanceof SSEServerTransport ? 'sse' : 'streamable_http';
    const init = opening.initialize;
    await this.store
      .save({
        id: opening.id,
        keyId,
        transport: kind,
        path: opening.path,
        protocolVersion: init?.protocolVersion ?? '',
        clientInfo: init?.clientInfo ?? { name: '', version: '' },
        clientCapabilities: init?.capabilities ?? {},
        logLevel: null,
        subscriptions: [],
        // A legacy SSE session's stream is here; a Streamable HTTP client opens its GET stream later, anywhere.
        holder: kind === 'sse' ? this.bus.origin : '',
        createdAt: now,
        lastActivity: now,
      })
      .catch((error: unknown) => this.storeFailed('save a new session', error, undefined));
    this.watch(opening.id, session);
    return session;
  }

  register(id: string, session: GatewaySession): void {
    this.pending.delete(session);
    if (!session.closed) this.sessions.set(id, session);
  }

  /**
   * Continues a Streamable HTTP session this process does not hold (opened on another replica, or before a
   * restart) from the session store: null when there is none for this key and path, or it is idle past its
   * expiry. The scope is the caller's now (its grants, its headers); upstream sessions open again on use.
   */
  resume(request: ResumeRequest): Promise<GatewaySession | null> {
    const { id } = request;
    let work = this.resuming.get(id);
    if (!work) {
      work = this.load(request).finally(() => this.resuming.delete(id));
      this.resuming.set(id, work);
    }
    return work;
  }

  /** The stored state of a legacy SSE session held by another replica, if this key may post to it. */
  async sseElsewhere(id: string, keyId: string | null): Promise<StoredSession | null> {
    const state = await this.store
      .load(id)
      .catch((error: unknown) => this.storeFailed('load a session', error, null));
    return state?.transport === 'sse' && state.keyId === keyId && !this.expired(state) ? state : null;
  }

  /** Hands a legacy SSE client's message to the replica that holds its stream; false if it cannot. */
  forwardSse(id: string, message: JSONRPCMessage): Promise<boolean> {
    return this.signal({ op: 'sse', id, message });
  }

  stats() {
    return { client_sessions: this.sessions.size, ...this.pool.stats() };
  }

  private build(scope: CallerScope, headers: IncomingHttpHeaders, transport: Transport): GatewaySession {
    const session = new GatewaySession(
      {
        view: this.view,
        pool: this.pool,
        catalog: this.catalog,
        caller: this.caller,
        operations: this.operations,
        signIns: this.signIns,
      },
      scope,
      headers,
      transport,
    );
    this.pending.add(session);
    this.transports.set(session, transport instanceof SSEServerTransport ? 'sse' : 'streamable_http');
    return session;
  }

  /** Wires a session to the store and the other replicas once its id is known. */
  private watch(id: string, session: GatewaySession): void {
    session.onClosed = (ended) => {
      this.pending.delete(session);
      this.transports.delete(session);
      if (this.sessions.get(id) === session) this.sessions.delete(id);
      this.streamsElsewhere.delete(id);
      this.lastListChanged.delete(id);
      if (ended) void this.forget(id);
    };
    session.onStateChanged = (patch: SessionPatch) => {
      void this.signal({ op: 'state', id, patch });
      void this.store
        .update(id, patch)
        .catch((error: unknown) => this.storeFailed('update a session', error, undefined));
    };
  }

  /** Removes an ended session from the store and tells the other replicas to let go of their copies. */
  private async forget(id: string): Promise<void> {
    if (this.forgotten.has(id)) return;
    this.forgotten.add(id);
    setTimeout(() => this.forgotten.delete(id), 60_000).unref();
    await Promise.all([
      this.store
        .remove([id])
        .catch((error: unknown) => this.storeFailed('remove a session', error, undefined)),
      this.signal({ op: 'ended', id }),
    ]);
  }

  /** Options of a Streamable HTTP transport whose session may have its GET stream on another replica. */
  transportOptions(id: string) {
    return {
      sessionId: id,
      // Tagged request ids only matter (and only show) when there are other replicas.
      requestTag: this.bus.enabled ? this.bus.origin.slice(0, 8) : undefined,
      relayClient: (message: JSONRPCMessage) => void this.signal({ op: 'client', id, message }),
      // Answered once no replica can continue it any more.
      ondelete: () => this.forget(id),
      relay: (message: JSONRPCMessage) => {
        if (this.streamsElsewhere.has(id)) void this.signal({ op: 'notify', id, message });
      },
      onstream: (open: boolean) => {
        this.streamsElsewhere.delete(id);
        void this.signal({ op: 'stream', id, holder: open ? this.bus.origin : null });
        void this.store
          .update(id, { holder: open ? this.bus.origin : '' })
          .catch((error: unknown) => this.storeFailed('update a session', error, undefined));
      },
    };
  }

  private async load({ id, path, keyId, scopeOf, headers }: ResumeRequest): Promise<GatewaySession | null> {
    // Continued meanwhile by another request: the same, on its own path only.
    const local = this.sessions.get(id);
    if (local) return local.path === path ? local : null;
    const state = await this.store
      .load(id)
      .catch((error: unknown) => this.storeFailed('load a session', error, null));
    if (!state || state.transport !== 'streamable_http' || state.path !== path || state.keyId !== keyId)
      return null;
    if (this.expired(state)) return null;
    const transport = new NodeStreamableHttpServerTransport(this.transportOptions(id));
    const session = this.build(scopeOf(), headers, transport);
    session.path = path;
    this.watch(id, session);
    session.restore(state);
    if (state.holder && state.holder !== this.bus.origin) this.streamsElsewhere.set(id, state.holder);
    await session.start();
    await transport.resume(id, {
      protocolVersion: state.protocolVersion,
      // JSON as the client sent it at initialize (and the store kept it), in SDK v2's stricter JSON types.
      capabilities: state.clientCapabilities as ClientCapabilities,
      clientInfo: state.clientInfo,
    });
    this.register(id, session);
    this.resumed++;
    this.logger.log({ msg: 'MCP session continued from the session store', session_id: id });
    return session;
  }

  private expired(state: StoredSession): boolean {
    return state.lastActivity < Date.now() - this.config.mcp.sessionIdleTimeoutMs;
  }

  private async signal(signal: SessionSignal): Promise<boolean> {
    return this.bus.enabled ? this.bus.signal(signal) : false;
  }

  private onSignal(event: ChangeEvent): void {
    if (event.topic === 'resync') return void this.recheck();
    if (event.topic !== 'session') return;
    const signal = event.data as SessionSignal;
    const session = typeof signal?.id === 'string' ? this.sessions.get(signal.id) : undefined;
    switch (signal?.op) {
      case 'ended':
        void session?.close(false);
        return;
      case 'stream':
        if (signal.holder) this.streamsElsewhere.set(signal.id, signal.holder);
        else this.streamsElsewhere.delete(signal.id);
        return;
      case 'notify': {
        const transport = session?.transport;
        if (!(transport instanceof NodeStreamableHttpServerTransport)) return;
        if (this.duplicateListChanged(signal.id, signal.message)) return;
        transport.writeStandalone(signal.message);
        return;
      }
      case 'client':
        if (session?.transport instanceof NodeStreamableHttpServerTransport)
          session.transport.acceptRelayed(signal.message);
        return;
      case 'state':
        session?.apply(signal.patch);
        return;
      case 'sse':
        if (session?.transport instanceof SSEServerTransport) {
          session.touch();
          void session.transport.handleMessage(signal.message).catch(() => undefined);
        }
        return;
    }
  }

  /** After the bus was deaf (signals may be lost): copies of sessions ended meanwhile are let go of. */
  private async recheck(): Promise<void> {
    const ids = [...this.sessions.keys()];
    if (!ids.length) return;
    const known = await this.store.activity(ids).catch(() => null);
    if (!known) return;
    for (const id of ids) if (!known.has(id)) void this.sessions.get(id)?.close(false);
  }

  /** Every replica sends list_changed when the registry changes: one is enough. */
  private duplicateListChanged(id: string, message: JSONRPCMessage): boolean {
    if (!('method' in message) || !message.method.endsWith('/list_changed')) return false;
    const key = `${id} ${message.method}`;
    const now = Date.now();
    const last = this.lastListChanged.get(key) ?? 0;
    this.lastListChanged.set(key, now);
    return now - last < LIST_CHANGED_DEDUP_MS;
  }

  /** Writes the last activity of the sessions active since the last flush, in one batch. */
  private async flushTouches(): Promise<void> {
    const since = this.flushedAt;
    const active = [...this.sessions].filter(([, s]) => s.lastActivity > since);
    if (!active.length) return;
    const at = Math.max(...active.map(([, s]) => s.lastActivity));
    this.flushedAt = at;
    await this.store
      .touch(
        active.map(([id]) => id),
        at,
      )
      .catch((error: unknown) => this.storeFailed('write session activity', error, undefined));
  }

  private async reapIdle(): Promise<void> {
    const cutoff = Date.now() - this.config.mcp.sessionIdleTimeoutMs;
    const idle = [...this.sessions].filter(([, s]) => s.lastActivity < cutoff);
    if (!idle.length) return this.sweep(cutoff);
    // Idle here, maybe not for their clients, who may go on through another replica: the store knows.
    const known = await this.store
      .activity(idle.map(([id]) => id))
      .catch((error: unknown) => this.storeFailed('read session activity', error, new Map<string, number>()));
    let ended = 0;
    for (const [id, session] of idle) {
      const last = known.get(id);
      const over = last === undefined || last < cutoff;
      // A copy that holds the client's stream stays while the client is active elsewhere.
      const stream =
        session.transport instanceof NodeStreamableHttpServerTransport && session.transport.hasStream;
      if (!over && stream) continue;
      if (over) ended++;
      await session.close(over);
    }
    if (ended) this.logger.log({ msg: 'closing idle MCP sessions', count: ended });
    await this.sweep(cutoff);
  }

  private async sweep(cutoff: number): Promise<void> {
    await this.store
      .sweep(cutoff)
      .catch((error: unknown) => this.storeFailed('forget idle sessions', error, undefined));
  }

  private storeFailed<T>(what: string, error: unknown, fallback: T): T {
    this.logger.warn({
      msg: `could not ${what} in the session store (${this.store.kind}); this replica goes on with what it holds`,
      error: error instanceof Error ? error.message : String(error),
    });
    return fallback;
  }
}
