import type { IncomingHttpHeaders } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { AppError, packageInfo } from '@app/core';
import { effectiveSessionMode, upstreamHeaders, type McpServerRecord } from '@app/mcp-registry';
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
  private readonly stops: (() => void)[] = [];
  lastActivity = Date.now();
  closed = false;
  onClosed?: () => void;

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
          resources: { listChanged: true },
          prompts: { listChanged: true },
        },
        instructions: deps.view.instructions(visible, (s) => deps.pool.sharedFor(s).instructions),
      },
    );
    this.registerHandlers();
    this.stops.push(
      deps.catalog.subscribe((serverId, kinds) => this.onListsChanged(serverId, kinds)),
      deps.pool.on((event) => {
        if (event.type === 'server_changed') void this.dropOwned(event.serverId);
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
    for (const stop of this.stops) stop();
    await Promise.all([...this.owned.values()].map((c) => this.deps.pool.release(c)));
    this.owned.clear();
    await this.server.close().catch(() => undefined);
    this.onClosed?.();
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
    try {
      const { result, outcome } = await this.callUpstream(target.server, target.name, args, meta, extra);
      status = outcome;
      return result;
    } catch (error) {
      if (extra.signal.aborted) status = 'cancelled';
      throw error;
    } finally {
      auditToolCall(this.scope.auth, target.server, target.name, status, started, 'mcp');
    }
  }

  private async callUpstream(
    server: McpServerRecord,
    tool: string,
    args: Record<string, unknown> | undefined,
    meta: { progressToken?: string | number } | undefined,
    extra: Extra,
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
      const result = (await client.callTool({ name: tool, arguments: args ?? {} }, undefined, {
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
