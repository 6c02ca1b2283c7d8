import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import {
  createMcpHandler,
  PROTOCOL_VERSION_META_KEY,
  isLegacyRequest,
  type McpHttpHandler,
  type McpRequestContext,
  Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { SUPPORTED_PROTOCOL_VERSIONS as LEGACY_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { isAdmin } from '@app/auth';
import { inputProblem } from '@app/http';
import { packageInfo } from '@app/core';
import { type CallOptions, ToolCaller } from '../calls/tool-caller.js';
import { McpCatalog } from '../catalog/catalog.js';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { instructionsOf } from './gateway-session.js';
import { SKIPPED_META_KEY, v2 } from './session-handlers.js';
import { requestIdOf } from './jsonrpc-checks.js';
import { McpOperations } from './mcp-operations.js';
import { InputLeases } from './input-exchange.js';
import { InputRounds, type RoundOptions } from './input-rounds.js';
import { jsonRpcError } from './session-door.js';

/** What the handler's server factory needs of the HTTP request it serves (found by its web Request). */
interface Served {
  scope: CallerScope;
  headers: IncomingHttpHeaders;
}

/**
 * The gateway's MCP endpoint for protocol revision 2026-07-28 (issue 19): stateless, no `initialize`, no
 * session; every request carries its protocol version, client info and capabilities in `_meta` and is
 * authenticated on its own. Served by the official SDK v2 (`createMcpHandler`, which does `server/discover`,
 * the envelope and header checks, `-32022` on a version it does not serve, removed methods, cache hints and
 * `subscriptions/listen`) with one v2 `Server` per request answering from the same McpOperations as the 2025
 * sessions. Upstream connections are the pool's shared ones, as for the REST twins (a stateless client has no
 * session to own an upstream session). 2025 clients keep their sessions on the same paths: the session door
 * routes a request here only when the SDK classifies it as modern.
 */
@Injectable()
export class ModernEndpoint implements OnModuleDestroy {
  private readonly logger = new Logger('Gateway');
  private readonly handler: McpHttpHandler;
  private readonly served = new WeakMap<Request, Served>();
  private readonly stopListening: () => void;
  private readonly stopUpdates: () => void;
  private readonly stopKeyUpdates: () => void;

  constructor(
    private readonly operations: McpOperations,
    private readonly view: GatewayView,
    private readonly catalog: McpCatalog,
    private readonly caller: ToolCaller,
    private readonly rounds: InputRounds,
    pool: UpstreamPool,
    leases: InputLeases,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.handler = createMcpHandler((ctx) => this.serverFor(ctx), {
      legacy: 'reject',
      onerror: (error) => this.logger.debug({ msg: 'MCP 2026-07-28 request refused', error: error.message }),
    });
    // A list that changed upstream (or in the registry) is announced to every `subscriptions/listen` stream
    // that asked for it: a bare "this list changed", which tells a caller nothing it may not know.
    this.stopListening = catalog.subscribe((_serverId, kinds) => {
      for (const kind of kinds)
        if (kind === 'tools') this.handler.notify.toolsChanged();
        else if (kind === 'prompts') this.handler.notify.promptsChanged();
        else this.handler.notify.resourcesChanged();
    });
    // A resource update reaches only the streams that asked for that URI, and a stream may ask only for URIs of
    // its key's servers (checked in `serve`, before the SDK opens it).
    this.stopUpdates = pool.on((event) => {
      if (event.type === 'resource_updated') this.handler.notify.resourceUpdated(event.uri);
    });
    // Also those sent on a key's own connection to a per_client server (input-exchange.ts).
    this.stopKeyUpdates = leases.onResourceUpdated((uri) => this.handler.notify.resourceUpdated(uri));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopListening();
    this.stopUpdates();
    this.stopKeyUpdates();
    await this.handler.close();
  }

  /**
   * Whether a POST without a session is a 2026-07-28 request (served here) rather than a 2025 one: it must
   * look like one (one JSON-RPC request carrying the version envelope, or a protocol-version header no 2025
   * client sends) before the SDK classifies it; anything else is left to the 2025 path and its errors.
   */
  async claims(req: IncomingMessage, body: unknown): Promise<boolean> {
    if (!looksModern(req, body)) return false;
    // Hostile input the SDK would choke on is this path's to refuse (see serve).
    if (inputProblem(body, 'body')) return true;
    try {
      return !(await isLegacyRequest(webRequest(req), body));
    } catch {
      return false;
    }
  }

  /** Serves one 2026-07-28 request of a caller whose key the door authenticated, in its scope. */
  async serve(scope: CallerScope, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const problem = inputProblem(body, 'body');
    if (problem)
      return jsonRpcError(res, 400, -32600, `Invalid Request: ${problem.message}`, requestIdOf(body));
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const refusal = await this.checkResourceSubscriptions(scope, req.headers, body);
    if (refusal) return jsonRpcError(res, 400, -32602, refusal, requestIdOf(body));
    const request = webRequest(req, abort.signal);
    this.served.set(request, { scope, headers: req.headers });
    const response = await this.handler.fetch(request, { parsedBody: body });
    await writeResponse(response, res);
  }

  /**
   * A `subscriptions/listen` that names resource URIs: each must belong to one of the caller's servers (else the
   * refusal, naming it), and is subscribed to upstream on the shared connection, whose updates `pool.on` relays.
   */
  private async checkResourceSubscriptions(
    scope: CallerScope,
    headers: IncomingHttpHeaders,
    body: unknown,
  ): Promise<string | null> {
    if (typeof body !== 'object' || body === null) return null;
    const { method, params } = body as { method?: unknown; params?: { notifications?: unknown } };
    if (method !== 'subscriptions/listen') return null;
    const uris = (params?.notifications as { resourceSubscriptions?: unknown } | undefined)
      ?.resourceSubscriptions;
    if (!Array.isArray(uris)) return null;
    for (const uri of uris) {
      if (typeof uri !== 'string') return 'Invalid params: resourceSubscriptions must be URIs (strings)';
      const server = await this.view.resolveResource(scope, uri, { owned: true });
      if (!server)
        return `Invalid params: unknown or not permitted resource URI ${JSON.stringify(uri)} (list them with resources/list)`;
      const settled = await this.caller.request(
        server,
        'resources/subscribe',
        { via: 'mcp', headers, admin: isAdmin(scope.auth) },
        async (client, limits) => {
          if (client.getServerCapabilities()?.resources?.subscribe)
            await client.subscribeResource({ uri }, limits);
        },
      );
      if (!('result' in settled))
        return `Invalid params: resource ${JSON.stringify(uri)} cannot be subscribed to: ${settled.failure.message}`;
    }
    return null;
  }

  /** The v2 server answering one request: the caller's view of the gateway. */
  private serverFor(ctx: McpRequestContext): Server {
    const served = ctx.requestInfo ? this.served.get(ctx.requestInfo) : undefined;
    if (!served) throw new Error('a 2026-07-28 request reached the MCP handler without the session door');
    const { scope, headers } = served;
    const visible = this.view.visibleServers(scope);
    const server = new Server(
      { name: 'mcp-gateway', version: packageInfo().version },
      {
        capabilities: {
          tools: { listChanged: true },
          resources: { listChanged: true, subscribe: true },
          prompts: { listChanged: true },
          completions: {},
        },
        instructions: instructionsOf(visible, (s) => this.catalog.peek(s.serverId)?.instructions),
        // The gateway's sealed state (input-rounds.ts): a tampered, expired or another key's one is `-32602`.
        requestState: { verify: (state) => this.rounds.seal.open(state, scope.auth) },
      },
    );
    const ops = this.operations;
    const rounds = this.rounds;
    const view = this.view;
    const options = (ctx: ServerContext, progress = false): CallOptions => {
      const token = ctx.mcpReq._meta?.progressToken;
      return {
        via: 'mcp',
        meta: ctx.mcpReq._meta,
        rpcId: ctx.mcpReq.id,
        admin: isAdmin(scope.auth),
        headers,
        signal: ctx.mcpReq.signal,
        onProgress:
          progress && token !== undefined
            ? (p) =>
                void ctx.mcpReq
                  .notify({ method: 'notifications/progress', params: { ...p, progressToken: token } })
                  .catch(() => undefined)
            : undefined,
      };
    };
    // Lists: the caller's own (cacheScope private), good for mcp_list_ttl_seconds unless a server is missing
    // from it (it failed to list: ask again soon); a change is announced on subscriptions/listen meanwhile.
    const ttl = this.config.mcp.listTtlMs;
    const cacheable = async <R extends { _meta?: Record<string, unknown> }>(list: Promise<R>) => {
      const result = await list;
      return { ...result, ttlMs: result._meta?.[SKIPPED_META_KEY] ? 0 : ttl, cacheScope: 'private' as const };
    };
    server.setRequestHandler('tools/list', () => v2<'tools/list'>(cacheable(ops.tools(scope))));
    // Calls, prompts and reads may need the client's input (input_required rounds, input-rounds.ts).
    const inRounds = <T>(
      ctx: ServerContext,
      op: string,
      target: () => Promise<string | null>,
      work: (options: CallOptions) => Promise<T>,
      progress = false,
    ) => rounds.run(scope, ctx, op, target, (o: RoundOptions) => work({ ...options(ctx, progress), ...o }));
    server.setRequestHandler('tools/call', (request, ctx) => {
      const { name, arguments: args } = request.params;
      const target = async () => (await view.resolveTool(scope, name)).server.serverId;
      return v2<'tools/call'>(
        inRounds(ctx, `tools/call:${name}`, target, (o) => ops.callTool(scope, name, args, o), true),
      );
    });
    server.setRequestHandler('prompts/list', () => v2<'prompts/list'>(cacheable(ops.prompts(scope))));
    server.setRequestHandler('prompts/get', (request, ctx) => {
      const { name, arguments: args } = request.params;
      const target = async () => (await view.resolvePrompt(scope, name)).server.serverId;
      return v2<'prompts/get'>(
        inRounds(ctx, `prompts/get:${name}`, target, (o) => ops.getPrompt(scope, name, args, o)),
      );
    });
    server.setRequestHandler('resources/list', () => v2<'resources/list'>(cacheable(ops.resources(scope))));
    server.setRequestHandler('resources/templates/list', () =>
      v2<'resources/templates/list'>(cacheable(ops.templates(scope))),
    );
    server.setRequestHandler('resources/read', (request, ctx) => {
      const { uri } = request.params;
      const target = async () => (await view.resolveResource(scope, uri))?.serverId ?? null;
      return v2<'resources/read'>(
        inRounds(ctx, `resources/read:${uri}`, target, (o) => ops.readResource(scope, uri, o)),
      );
    });
    server.setRequestHandler('completion/complete', (request, ctx) =>
      v2<'completion/complete'>(ops.complete(scope, request.params, options(ctx))),
    );
    return server;
  }
}

/** One JSON-RPC request with the 2026 envelope key, or a protocol-version header newer than 2025's. */
function looksModern(req: IncomingMessage, body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { method, params } = body as { method?: unknown; params?: { _meta?: Record<string, unknown> } };
  if (typeof method !== 'string') return false;
  const header = req.headers['mcp-protocol-version'];
  if (typeof header === 'string' && !LEGACY_VERSIONS.includes(header)) return true;
  const meta = typeof params === 'object' && params !== null ? params._meta : undefined;
  return typeof meta === 'object' && meta !== null && PROTOCOL_VERSION_META_KEY in meta;
}

/** A web Request for the SDK's handler, from Node's: its headers (the body is passed parsed). */
function webRequest(req: IncomingMessage, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined && name !== 'content-length')
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  // No body: the SDK is given the one the door parsed (`parsedBody`), and never reads this one.
  return new Request(`http://${req.headers.host ?? 'gateway'}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    signal,
  });
}

/** Writes the handler's web Response to Node's, streaming an SSE body as it comes. */
async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  res.flushHeaders();
  try {
    for await (const chunk of response.body) {
      if (res.destroyed) break;
      res.write(chunk);
    }
  } finally {
    res.end();
  }
}
