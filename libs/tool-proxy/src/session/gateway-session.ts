import type { IncomingHttpHeaders } from 'node:http';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { type LoggingLevel, Server, type ServerContext, type Transport } from '@modelcontextprotocol/server';
import { isAdmin } from '@app/auth';
import { packageInfo } from '@app/core';
import { effectiveSessionMode, type McpServerRecord } from '@app/mcp-registry';
import type { CallOptions, ToolCaller } from '../calls/tool-caller.js';
import type { McpCatalog } from '../catalog/catalog.js';
import type { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope, VisibleServer } from '../catalog/view.types.js';
import type { ListKind, UpstreamConnection } from '../upstream/upstream-connection.js';
import type { UpstreamPool } from '../upstream/upstream-pool.js';
import type { McpOperations } from './mcp-operations.js';
import { forwardedCapabilities, routeServerRequests, sessionAsker } from './server-requests.js';
import type { SessionPatch, StoredSession } from './session-store.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';
import { registerSessionHandlers } from './session-handlers.js';
import type { UpstreamSignIns } from '../oauth/upstream-sign-ins.js';

export interface SessionDeps {
  view: GatewayView;
  /** What each MCP method answers (shared with the 2026-07-28 stateless servers). */
  operations: McpOperations;
  pool: UpstreamPool;
  catalog: McpCatalog;
  caller: ToolCaller;
  /** Callers' own upstream sign-ins (oauth2 authorization_code servers). */
  signIns: UpstreamSignIns;
}

/**
 * One client's MCP session: an SDK `Server` answering from the caller's view of the gateway, and the upstream
 * sessions it owns (`per_client` servers: HTTP and SSE upstreams get one upstream session per client session,
 * opened on first use and closed with it; stdio upstreams are shared). Its handlers are in session-handlers.ts;
 * everything that reaches an upstream goes through the ToolCaller.
 */
export class GatewaySession {
  readonly server: Server;
  private readonly owned = new Map<string, UpstreamConnection>();
  /** Downstream request ids of the calls in flight per upstream server, newest last. */
  private readonly inflight = new Map<string, (string | number)[]>();
  readonly subscriptions = new Set<string>();
  logLevel: LoggingLevel | null = null;
  private readonly stops: (() => void)[] = [];
  lastActivity = Date.now();
  closed = false;
  /** Told once when the session closes: `ended` when it is over for good, else this process let go of it. */
  onClosed?: (ended: boolean) => void;
  /** Told when the log level or the subscriptions change (the session store keeps them). */
  onStateChanged?: (patch: SessionPatch) => void;
  /**
   * Set when this process continues a session opened elsewhere (another replica, or before a restart): each
   * per-client upstream session it opens again is announced to the client, whose upstream state was lost.
   */
  resumed = false;
  private readonly reopened = new Set<string>();
  /** The path the session was opened on (the session door continues it only on the same path). */
  path = '';
  /** The client, asked for a server pinned to 2026-07-28 that answers input_required. */
  private readonly asker = sessionAsker(this);

  constructor(
    readonly deps: SessionDeps,
    public scope: CallerScope,
    private readonly requestHeaders: IncomingHttpHeaders,
    readonly transport: Transport,
  ) {
    const visible = deps.view.visibleServers(scope);
    this.server = new Server(
      { name: 'mcp-gateway', version: packageInfo().version },
      {
        capabilities: {
          tools: { listChanged: true },
          resources: { listChanged: true, subscribe: true },
          prompts: { listChanged: true },
          logging: {},
          completions: {},
        },
        instructions: instructionsOf(visible, (s) => deps.catalog.peek(s.serverId)?.instructions),
      },
    );
    registerSessionHandlers(this);
    this.stops.push(
      deps.catalog.subscribe((serverId, kinds) => this.onListsChanged(serverId, kinds)),
      deps.pool.on((event) => {
        if (event.type === 'server_changed') void this.dropOwned(event.serverId);
        // An update from a shared connection: only for a client that may see that server.
        if (event.type === 'resource_updated' && this.sees(event.serverId))
          this.relayResourceUpdated(event.uri);
      }),
    );
  }

  get keyId(): string | null {
    return this.scope.auth.keyId;
  }

  async start(): Promise<void> {
    this.transport.onclose = () =>
      void this.close(
        this.transport instanceof NodeStreamableHttpServerTransport ? this.transport.endedByClient : true,
      );
    await this.server.connect(this.transport);
  }

  /**
   * Closes this process's part of the session: its upstream sessions, its server. `ended`: the session is over
   * (DELETE, idle expiry, a legacy SSE stream gone), not only let go of by this process (shutdown, a copy idle
   * here while the client goes on through another replica).
   */
  async close(ended = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Gone from the session list at once; its upstream sessions are ended after (an HTTP one waits for DELETE).
    this.onClosed?.(ended);
    for (const stop of this.stops) stop();
    await Promise.all([...this.owned.values()].map((c) => this.deps.pool.release(c)));
    this.owned.clear();
    await this.server.close().catch(() => undefined);
  }

  /** Upstream sessions this client session holds (tests prove reuse and isolation with them). */
  ownedConnections(): ReadonlyMap<string, UpstreamConnection> {
    return this.owned;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** How this session's requests reach upstreams: its headers, its own connections, the client's signal. */
  callOptions(ctx: ServerContext, onProgress?: CallOptions['onProgress']): CallOptions {
    const { id } = ctx.mcpReq;
    return {
      via: 'mcp',
      meta: ctx.mcpReq._meta,
      sessionId: ctx.sessionId,
      rpcId: id,
      admin: isAdmin(this.scope.auth),
      headers: this.requestHeaders,
      signal: ctx.mcpReq.signal,
      onProgress,
      connection: (server, headers, signedIn) => this.connectionFor(server, headers, id, signedIn),
      track: (serverId) => this.track(serverId, id),
      asker: this.asker,
    };
  }

  /** Remembers a call to `serverId` as the request its upstream's requests relate to, until it settles. */
  private track(serverId: string, requestId: string | number): () => void {
    const ids = this.inflight.get(serverId) ?? [];
    ids.push(requestId);
    this.inflight.set(serverId, ids);
    return () => {
      const at = ids.indexOf(requestId);
      if (at !== -1) ids.splice(at, 1);
    };
  }

  /** The downstream request an upstream request belongs to (the newest call in flight to that server). */
  related(serverId: string): { relatedRequestId?: string | number } {
    const ids = this.inflight.get(serverId);
    return ids?.length ? { relatedRequestId: ids[ids.length - 1] } : {};
  }

  /** The connection for a server: shared, or this session's own (`per_client`), opened on first use. */
  connectionFor(
    server: McpServerRecord,
    headers: Record<string, string>,
    requestId?: string | number,
    signedIn = this.deps.signIns.signedIn(server, this.scope),
  ): UpstreamConnection {
    if (effectiveSessionMode(server) === 'shared') return this.deps.pool.sharedFor(server, headers, signedIn);
    let connection = this.owned.get(server.serverId);
    if (!connection) {
      connection = this.deps.pool.openForClient(
        server,
        headers,
        {
          onListChanged: (kind) => this.deps.catalog.invalidate(server.serverId, [kind]),
          capabilities: this.forwardedCapabilities(),
          configure: (client) => routeServerRequests(this, server, client),
          onConnected: () => void this.restoreUpstreamState(server),
        },
        signedIn,
      );
      this.owned.set(server.serverId, connection);
      if (this.resumed) this.announceReopened(server, requestId);
    }
    return connection;
  }

  /** Tells the client that an upstream session it had elsewhere was opened anew here (its state is gone). */
  private announceReopened(server: McpServerRecord, requestId: string | number | undefined): void {
    if (this.reopened.has(server.serverId)) return;
    this.reopened.add(server.serverId);
    if (this.logLevel && QUIETER_THAN_WARNING.has(this.logLevel)) return;
    const what =
      server.transport === 'stdio'
        ? `a new process of MCP server ${server.alias} was started for this session`
        : `a new upstream session to MCP server ${server.alias} was opened for this session`;
    const params = {
      level: 'warning' as const,
      logger: 'mcp-gateway',
      data: `This session continues on another gateway replica (or after a restart): ${what}; whatever that server kept for the old session is gone.`,
    };
    // With the request that needed the server, so that the client reads it in that answer's stream.
    void this.server
      .notification(
        { method: 'notifications/message', params },
        requestId === undefined ? undefined : { relatedRequestId: requestId },
      )
      .catch(() => undefined);
  }

  /** Log level and subscriptions as kept in the session store, when the session is continued here. */
  restore(state: Pick<StoredSession, 'logLevel' | 'subscriptions'>): void {
    this.resumed = true;
    this.apply(state);
  }

  /** Log level and subscriptions as changed through another replica. */
  apply(patch: SessionPatch): void {
    if (patch.logLevel !== undefined) this.logLevel = patch.logLevel;
    if (patch.subscriptions === undefined) return;
    this.subscriptions.clear();
    for (const uri of patch.subscriptions) this.subscriptions.add(uri);
  }

  setLogLevel(level: LoggingLevel): void {
    if (this.logLevel === level) return;
    this.logLevel = level;
    this.onStateChanged?.({ logLevel: level });
  }

  setSubscribed(uri: string, on: boolean): void {
    if (this.subscriptions.has(uri) === on) return;
    if (on) this.subscriptions.add(uri);
    else this.subscriptions.delete(uri);
    this.onStateChanged?.({ subscriptions: [...this.subscriptions] });
  }

  /** What the upstream may ask of our client: only what the client itself declared (for an SDK v1 client). */
  forwardedCapabilities(): ClientCapabilities {
    return forwardedCapabilities(this.server.getClientCapabilities());
  }

  /** Whether this session's caller may use a server (its grants now, and the session's selection). */
  private sees(serverId: string): boolean {
    if (this.scope.selection !== null && !this.scope.selection.has(serverId)) return false;
    return this.deps.view.visibleServers(this.scope).some((v) => v.server.serverId === serverId);
  }

  relayResourceUpdated(uri: string): void {
    if (this.closed || !this.subscriptions.has(uri)) return;
    void this.server.sendResourceUpdated({ uri }).catch(() => undefined);
  }

  private async dropOwned(serverId: string): Promise<void> {
    const connection = this.owned.get(serverId);
    if (!connection) return;
    this.owned.delete(serverId);
    await this.deps.pool.release(connection);
  }

  private onListsChanged(serverId: string, kinds: readonly ListKind[]): void {
    if (this.closed) return;
    const relevant = this.scope.selection === null || this.scope.selection.has(serverId);
    if (!relevant) return;
    for (const kind of kinds) {
      const sent =
        kind === 'tools'
          ? this.server.sendToolListChanged()
          : kind === 'resources'
            ? this.server.sendResourceListChanged()
            : this.server.sendPromptListChanged();
      void sent.catch(() => undefined);
    }
  }

  /** After an upstream (re)connects: its log level as the client set it. */
  private async restoreUpstreamState(server: McpServerRecord): Promise<void> {
    const connection = this.owned.get(server.serverId);
    const client = connection && (await connection.get().catch(() => null));
    if (!client) return;
    const caps = client.getServerCapabilities() ?? {};
    if (this.logLevel && caps.logging) await client.setLoggingLevel(this.logLevel).catch(() => undefined);
  }
}

/** Log levels set by a client that wants no warnings. */
const QUIETER_THAN_WARNING: ReadonlySet<LoggingLevel> = new Set(['error', 'critical', 'alert', 'emergency']);

/** `instructions` for `initialize`: those of the visible upstreams (as listed), each headed by its alias. */
export function instructionsOf(
  visible: readonly VisibleServer[],
  known: (server: McpServerRecord) => string | undefined,
): string | undefined {
  const parts = visible.flatMap(({ server }) => {
    const text = known(server);
    return text ? [`## ${server.alias}\n${text}`] : [];
  });
  return parts.length ? parts.join('\n\n') : undefined;
}
