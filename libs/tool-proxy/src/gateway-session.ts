import type { IncomingHttpHeaders } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolRequestSchema,
  type ClientCapabilities,
  CompleteRequestSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type LoggingLevel,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ResultSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { AppError, packageInfo } from '@app/core';
import {
  effectiveSessionMode,
  LazyJsonSchemaValidator,
  UpstreamHttpError,
  upstreamHeaders,
  type McpServerRecord,
} from '@app/mcp-registry';
import { auditToolCall, type CallStatus } from './audit.js';
import type { McpCatalog } from './catalog.js';
import type { CallerScope, GatewayView } from './gateway-view.js';
import {
  describeError,
  isMcpError,
  type ListKind,
  protocolError,
  type UpstreamConnection,
  UpstreamUnavailableError,
} from './upstream-connection.js';
import type { UpstreamPool } from './upstream-pool.js';

/** Default per-call timeout when the server sets none. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;
/** `_meta` key under which a list names the upstreams it had to skip. */
export const SKIPPED_META_KEY = 'io.mcp-gateway/skipped_servers';

export interface SessionDeps {
  view: GatewayView;
  pool: UpstreamPool;
  catalog: McpCatalog;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Headers of the client's request that belong to an upstream: its `extra_headers`, `x-mcp-{alias}-*`, `x-mcp-auth`. */
export function passThroughHeaders(
  server: McpServerRecord,
  headers: IncomingHttpHeaders,
): Record<string, string> {
  const out: Record<string, string> = {};
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  for (const name of server.extraHeaders) {
    const value = first(headers[name.toLowerCase()]);
    if (value !== undefined && !['authorization', 'x-litellm-api-key'].includes(name.toLowerCase()))
      out[name] = value;
  }
  const auth = first(headers['x-mcp-auth']);
  if (auth)
    Object.assign(
      out,
      upstreamHeaders({
        authType: server.authType === 'none' ? 'authorization' : server.authType,
        secrets: { authValue: auth, staticHeaders: {}, env: {} },
      }),
    );
  const prefix = `x-mcp-${server.alias.toLowerCase()}-`;
  for (const [name, value] of Object.entries(headers)) {
    const v = first(value);
    if (name.startsWith(prefix) && name.length > prefix.length && v !== undefined)
      out[name.slice(prefix.length)] = v;
  }
  return out;
}

/**
 * One client's MCP session: an SDK `Server` answering from the caller's view of the gateway, and the upstream
 * sessions it owns (`per_client` servers: HTTP and SSE upstreams get one upstream session per client session,
 * opened on first use and closed with it; stdio upstreams are shared).
 */
export class GatewaySession {
  readonly server: Server;
  private readonly owned = new Map<string, UpstreamConnection>();
  /** Downstream request ids of the calls in flight per upstream server, newest last. */
  private readonly inflight = new Map<string, (string | number)[]>();
  private readonly subscriptions = new Set<string>();
  private logLevel: LoggingLevel | null = null;
  private readonly stops: (() => void)[] = [];
  lastActivity = Date.now();
  closed = false;
  onClosed?: () => void;
  /** The path the session was opened on (the MCP fast lane serves only requests on the same path). */
  path = '';

  constructor(
    private readonly deps: SessionDeps,
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
        instructions: deps.view.instructions(visible, (s) => deps.catalog.peek(s.serverId)?.instructions),
        jsonSchemaValidator: new LazyJsonSchemaValidator(),
      },
    );
    this.registerHandlers();
    this.stops.push(
      deps.catalog.subscribe((serverId, kinds) => this.onListsChanged(serverId, kinds)),
      deps.pool.on((event) => {
        if (event.type === 'server_changed') void this.dropOwned(event.serverId);
        if (event.type === 'resource_updated') this.relayResourceUpdated(event.uri);
      }),
    );
  }

  get keyId(): string | null {
    return this.scope.auth.keyId;
  }

  async start(): Promise<void> {
    this.transport.onclose = () => void this.close();
    await this.server.connect(this.transport);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Gone from the session list at once; its upstream sessions are ended after (an HTTP one waits for DELETE).
    this.onClosed?.();
    for (const stop of this.stops) stop();
    await Promise.all([...this.owned.values()].map((c) => this.deps.pool.release(c)));
    this.owned.clear();
    await this.server.close().catch(() => undefined);
  }

  /** Upstream sessions this client session holds (tests prove reuse and isolation with them). */
  ownedConnections(): ReadonlyMap<string, UpstreamConnection> {
    return this.owned;
  }

  private connectionFor(server: McpServerRecord): UpstreamConnection {
    const headers = passThroughHeaders(server, this.requestHeaders);
    if (effectiveSessionMode(server) === 'shared') return this.deps.pool.sharedFor(server, headers);
    let connection = this.owned.get(server.serverId);
    if (!connection) {
      connection = this.deps.pool.openForClient(server, headers, {
        onListChanged: (kind) => this.deps.catalog.invalidate(server.serverId, [kind]),
        capabilities: this.forwardedCapabilities(),
        configure: (client) => this.routeServerRequests(server, client),
        onConnected: () => void this.restoreUpstreamState(server),
      });
      this.owned.set(server.serverId, connection);
    }
    return connection;
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
    const send = (kind: ListKind) => {
      const p =
        kind === 'tools'
          ? this.server.sendToolListChanged()
          : kind === 'resources'
            ? this.server.sendResourceListChanged()
            : this.server.sendPromptListChanged();
      void p.catch(() => undefined);
    };
    for (const kind of kinds) send(kind);
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  private meta(errors: { server_name: string; message: string }[]) {
    return errors.length ? { _meta: { [SKIPPED_META_KEY]: errors } } : {};
  }

  /** What the upstream may ask of our client: only what the client itself declared. */
  private forwardedCapabilities(): ClientCapabilities {
    const client = this.server.getClientCapabilities() ?? {};
    return {
      ...(client.sampling ? { sampling: client.sampling } : {}),
      ...(client.elicitation ? { elicitation: client.elicitation } : {}),
      ...(client.roots ? { roots: client.roots } : {}),
    };
  }

  /** The downstream request an upstream request belongs to (the newest call in flight to that server). */
  private related(serverId: string): { relatedRequestId?: string | number } {
    const ids = this.inflight.get(serverId);
    return ids?.length ? { relatedRequestId: ids[ids.length - 1] } : {};
  }

  /**
   * A per-client upstream's requests (sampling, elicitation, roots) go to this session's client and the answer
   * (or error) goes back; its log messages and resource updates reach this client only. Request ids are the
   * SDK's own on each side, so they cannot collide across sessions.
   */
  private routeServerRequests(server: McpServerRecord, client: Client): void {
    const caps = this.forwardedCapabilities();
    const options = (signal: AbortSignal) => ({ signal, ...this.related(server.serverId) });
    if (caps.sampling)
      client.setRequestHandler(CreateMessageRequestSchema, (request, extra) =>
        this.server.createMessage(request.params, options(extra.signal)),
      );
    if (caps.elicitation)
      client.setRequestHandler(ElicitRequestSchema, (request, extra) =>
        this.server.elicitInput(request.params, options(extra.signal)),
      );
    if (caps.roots)
      client.setRequestHandler(ListRootsRequestSchema, (request, extra) =>
        this.server.listRoots(request.params, options(extra.signal)),
      );
    client.fallbackRequestHandler = (request) =>
      Promise.reject(
        protocolError(
          ErrorCode.MethodNotFound,
          `the client behind the gateway does not support ${request.method} (it did not declare the capability)`,
        ),
      );
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) =>
      this.server
        .notification(
          { method: 'notifications/message', params: notification.params },
          this.related(server.serverId),
        )
        .catch(() => undefined),
    );
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) =>
      this.relayResourceUpdated(notification.params.uri),
    );
  }

  /** After an upstream (re)connects: its log level and resource subscriptions as the client set them. */
  private async restoreUpstreamState(server: McpServerRecord): Promise<void> {
    const connection = this.owned.get(server.serverId);
    const client = connection && (await connection.get().catch(() => null));
    if (!client) return;
    const caps = client.getServerCapabilities() ?? {};
    if (this.logLevel && caps.logging) await client.setLoggingLevel(this.logLevel).catch(() => undefined);
  }

  private relayResourceUpdated(uri: string): void {
    if (this.closed || !this.subscriptions.has(uri)) return;
    void this.server.sendResourceUpdated({ uri }).catch(() => undefined);
  }

  private registerHandlers(): void {
    const { view } = this.deps;
    this.server.setRequestHandler(ListToolsRequestSchema, async () => {
      this.touch();
      const { items, errors } = await view.tools(this.scope);
      return { tools: items, ...this.meta(errors) };
    });
    this.server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      this.touch();
      return this.callTool(request.params.name, request.params.arguments, request.params._meta, extra);
    });
    this.server.setRequestHandler(ListPromptsRequestSchema, async () => {
      this.touch();
      const { items, errors } = await view.prompts(this.scope);
      return { prompts: items, ...this.meta(errors) };
    });
    this.server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
      this.touch();
      const target = await mcpErrors(() => view.resolvePrompt(this.scope, request.params.name));
      const client = await this.upstream(target.server);
      return client.getPrompt(
        { name: target.name, arguments: request.params.arguments },
        { timeout: target.server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, signal: extra.signal },
      );
    });
    this.server.setRequestHandler(ListResourcesRequestSchema, async () => {
      this.touch();
      const { resources, errors, conflicts } = await view.resources(this.scope);
      const meta = this.meta(errors);
      return conflicts.length
        ? { resources, _meta: { ...meta._meta, 'io.mcp-gateway/uri_conflicts': conflicts } }
        : { resources, ...meta };
    });
    this.server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
      this.touch();
      const { templates, errors } = await view.resources(this.scope);
      return { resourceTemplates: templates, ...this.meta(errors) };
    });
    this.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
      this.touch();
      const server = await view.resolveResource(this.scope, request.params.uri);
      if (!server) throw protocolError(ErrorCode.InvalidParams, `Resource not found: ${request.params.uri}`);
      const client = await this.upstream(server);
      return client.readResource(
        { uri: request.params.uri },
        { timeout: server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, signal: extra.signal },
      );
    });
    this.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      this.touch();
      await this.subscription(request.params.uri, true);
      return {};
    });
    this.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      this.touch();
      await this.subscription(request.params.uri, false);
      return {};
    });
    this.server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      this.touch();
      this.logLevel = request.params.level;
      // Forwarded to the upstream sessions this client owns (shared ones are not this client's to tune).
      await Promise.all(
        [...this.owned.values()].map(async (connection) => {
          const client = await connection.get().catch(() => null);
          if (client?.getServerCapabilities()?.logging)
            await client.setLoggingLevel(request.params.level).catch(() => undefined);
        }),
      );
      return {};
    });
    this.server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
      this.touch();
      const { ref } = request.params;
      let server: McpServerRecord | null;
      let upstreamRef = ref;
      if (ref.type === 'ref/prompt') {
        const target = await mcpErrors(() => view.resolvePrompt(this.scope, ref.name));
        server = target.server;
        upstreamRef = { type: 'ref/prompt', name: target.name };
      } else {
        server = await view.resolveTemplate(this.scope, ref.uri);
      }
      if (!server) return { completion: { values: [] } };
      const client = await this.upstream(server);
      if (!client.getServerCapabilities()?.completions) return { completion: { values: [] } };
      return client.complete(
        { ...request.params, ref: upstreamRef },
        { timeout: server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, signal: extra.signal },
      );
    });
  }

  private async upstream(server: McpServerRecord) {
    try {
      return await this.connectionFor(server).get();
    } catch (error) {
      throw protocolError(ErrorCode.InternalError, describeError(error));
    }
  }

  private async callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    meta: { progressToken?: string | number } | undefined,
    extra: Extra,
  ): Promise<CallToolResult> {
    const target = await mcpErrors(() => this.deps.view.resolveTool(this.scope, name));
    const started = performance.now();
    let status: CallStatus = 'upstream_error';
    const serverId = target.server.serverId;
    const inflight = this.inflight.get(serverId) ?? [];
    inflight.push(extra.requestId);
    this.inflight.set(serverId, inflight);
    try {
      const { result, outcome } = await this.callUpstream(target.server, target.name, args, meta, extra);
      status = outcome;
      return result;
    } catch (error) {
      if (extra.signal.aborted) status = 'cancelled';
      throw error;
    } finally {
      inflight.splice(inflight.indexOf(extra.requestId), 1);
      auditToolCall(this.scope.auth, target.server, target.name, status, started, 'mcp');
    }
  }

  /** Subscribes (or not) this client to a resource, upstream through the server that owns it. */
  private async subscription(uri: string, on: boolean): Promise<void> {
    if (on) this.subscriptions.add(uri);
    else this.subscriptions.delete(uri);
    const server = await this.deps.view.resolveResource(this.scope, uri);
    if (!server) {
      if (on) throw protocolError(ErrorCode.InvalidParams, `Resource not found: ${uri}`);
      return;
    }
    const client = await this.upstream(server);
    if (!client.getServerCapabilities()?.resources?.subscribe) return;
    // A shared upstream stays subscribed while other sessions may watch the URI; updates are filtered here.
    if (on) await client.subscribeResource({ uri });
    else if (effectiveSessionMode(server) === 'per_client') await client.unsubscribeResource({ uri });
  }

  private async callUpstream(
    server: McpServerRecord,
    tool: string,
    args: Record<string, unknown> | undefined,
    meta: { progressToken?: string | number } | undefined,
    extra: Extra,
    retried = false,
  ): Promise<{ result: CallToolResult; outcome: CallStatus }> {
    const timeout = server.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    let client;
    try {
      client = await this.connectionFor(server).get();
    } catch (error) {
      const text =
        error instanceof UpstreamUnavailableError
          ? error.message
          : `MCP server ${server.serverName} is unavailable: ${describeError(error)}`;
      return { result: errorResult(text), outcome: 'unavailable' };
    }
    const progressToken = meta?.progressToken;
    try {
      // The result is validated once, by the downstream server as it answers (the SDK's Client.callTool
      // would parse it fully and check its structured content too, on every call, for nothing).
      const request = { method: 'tools/call' as const, params: { name: tool, arguments: args ?? {} } };
      const result = (await client.request(request, ResultSchema, {
        timeout,
        signal: extra.signal,
        ...(progressToken !== undefined
          ? {
              resetTimeoutOnProgress: false,
              onprogress: (p) =>
                void extra
                  .sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } })
                  .catch(() => undefined),
            }
          : {}),
      })) as CallToolResult;
      return { result, outcome: result.isError ? 'tool_error' : 'ok' };
    } catch (error) {
      if (extra.signal.aborted) throw error;
      if (error instanceof UpstreamHttpError && error.sessionLost && !retried) {
        // The upstream restarted and refused the session before running anything: once more, on a new one
        // (the transport closed itself; the connection notices on the next turn of the event loop).
        await new Promise((resolve) => setImmediate(resolve));
        return this.callUpstream(server, tool, args, meta, extra, true);
      }
      if (isMcpError(error, ErrorCode.RequestTimeout)) {
        const text = `MCP server ${server.serverName} did not answer ${tool} within ${timeout} ms`;
        return { result: errorResult(text), outcome: 'timeout' };
      }
      if (error instanceof McpError && !isMcpError(error, ErrorCode.ConnectionClosed)) throw error;
      const text = `MCP server ${server.serverName} failed on ${tool}: ${describeError(error)}`;
      return { result: errorResult(text), outcome: 'upstream_error' };
    }
  }
}

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/** Turns the view's not-found errors into the MCP error clients expect (-32602, like an unknown tool). */
async function mcpErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw protocolError(ErrorCode.InvalidParams, error.message);
    throw error;
  }
}
