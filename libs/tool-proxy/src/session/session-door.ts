import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { isInitializeRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type AuthContext, extractApiKey, KeyAuthenticator } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { MAX_SIGNAL_BYTES } from '@app/database';
import { McpRegistry } from '@app/mcp-registry';
import { DrainState } from '@app/observability';
import { McpCatalog } from '../catalog/catalog.js';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { GatewayDrainingError, UnknownMcpServerError } from '../tool-proxy.errors.js';
import type { GatewaySession } from './gateway-session.js';
import { checkMessage, requestIdOf } from './jsonrpc-checks.js';
import { ModernEndpoint } from './modern-endpoint.js';
import { checkRequestOrigin } from './origin-check.js';
import { McpSessionManager } from './session-manager.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';

/** Where legacy SSE clients post their messages. */
export const SSE_MESSAGES_PATH = '/mcp/sse/messages';
/** How long a new session waits for unlisted upstreams, so that `initialize` can carry their instructions. */
const INSTRUCTIONS_WAIT_MS = 2000;

/** Which door a request came through: the aggregated endpoint, a narrowed one, or one server's. */
export type Selection =
  { kind: 'all' } | { kind: 'servers'; names: string[] } | { kind: 'single'; alias: string };

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: RequestId | null = null,
): void {
  if (res.headersSent) return;
  res
    .writeHead(status, { 'Content-Type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

/**
 * What the SDK's legacy SSE transport would answer in plain text (`Invalid message: [object Object]`), answered
 * as a JSON-RPC error instead (issue 15, item 9): a body that is not JSON, not one JSON-RPC message (no batches
 * on this transport), or one the SDK would drop unanswered. True when it answered.
 */
function refuseSseMessage(req: IncomingMessage, res: ServerResponse, body: unknown): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    jsonRpcError(res, 415, -32600, 'Invalid Request: the body must be JSON (Content-Type: application/json)');
    return true;
  }
  if (Array.isArray(body)) {
    jsonRpcError(
      res,
      400,
      -32600,
      'Invalid Request: the HTTP+SSE transport takes one message per POST, not a batch',
    );
    return true;
  }
  const refusal = checkMessage(body);
  if (!refusal) return false;
  jsonRpcError(res, 400, refusal.code, refusal.message, refusal.id);
  return true;
}

/**
 * The one door into MCP sessions, for the Nest routes and the fast lane alike: it finds the session a request
 * belongs to, admits a key into it (origin check, key binding, scope refresh, last activity), and opens new
 * sessions (origin check, drain, scope, cap per key). A check added here holds on both paths.
 */
@Injectable()
export class SessionDoor {
  private readonly logger = new Logger('Gateway');

  constructor(
    private readonly sessions: McpSessionManager,
    private readonly authenticator: KeyAuthenticator,
    private readonly view: GatewayView,
    private readonly registry: McpRegistry,
    private readonly catalog: McpCatalog,
    private readonly drain: DrainState,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly modern: ModernEndpoint,
  ) {}

  /** DNS-rebinding protection (403 for a foreign browser origin) on every MCP and REST tool request. */
  checkOrigin(headers: IncomingHttpHeaders): void {
    checkRequestOrigin(headers, this.config);
  }

  /** The key of a request, authenticated (the global guard's authenticator: expiry, blocks, team blocks). */
  async authenticate(req: IncomingMessage): Promise<AuthContext | null> {
    const key = extractApiKey(req.headersDistinct);
    return key === null ? null : this.authenticator.authenticate(key);
  }

  /** The open Streamable HTTP session a request names (`Mcp-Session-Id`), on the path it was opened on. */
  find(req: IncomingMessage, path: string): GatewaySession | undefined {
    const id = first(req.headers['mcp-session-id']);
    const session = id ? this.sessions.get(id) : undefined;
    return session?.transport instanceof NodeStreamableHttpServerTransport && session.path === path
      ? session
      : undefined;
  }

  /** The open legacy SSE session of a message (`/mcp/sse/messages?sessionId=`). */
  findSse(id: string | null | undefined): GatewaySession | undefined {
    const session = id ? this.sessions.get(id) : undefined;
    return session?.transport instanceof SSEServerTransport ? session : undefined;
  }

  /**
   * Lets `auth` continue `session`: the origin is checked (throws 403), the session must be open and bound to
   * this key (false otherwise: the caller answers 404, as for an unknown session), then the session takes the
   * key's current grants and counts as active.
   */
  admit(session: GatewaySession, auth: AuthContext, headers: IncomingHttpHeaders): boolean {
    this.checkOrigin(headers);
    if (session.closed || session.keyId !== auth.keyId) return false;
    session.scope = { ...session.scope, auth };
    session.touch();
    return true;
  }

  /** Hands an admitted request to its session's transport (`body`: already parsed JSON, if any). */
  async serve(
    session: GatewaySession,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ): Promise<void> {
    const { transport } = session;
    if (transport instanceof SSEServerTransport) {
      if (refuseSseMessage(req, res, body)) return;
      await transport.handlePostMessage(req, res, body);
    } else await (transport as NodeStreamableHttpServerTransport).handleRequest(req, res, body);
  }

  /** The caller's scope for a door: narrowed by the path's selection, and further by `x-mcp-servers`. */
  scope(auth: AuthContext, headers: IncomingHttpHeaders, selection: Selection): CallerScope {
    if (selection.kind === 'single') return this.singleScope(auth, headers, selection.alias);
    let ids: Set<string> | null =
      selection.kind === 'servers' ? this.view.select(auth, selection.names) : null;
    const header = first(headers['x-mcp-servers']);
    if (header !== undefined && header.trim() !== '') {
      const narrowed = this.view.select(auth, header.split(','));
      ids = ids ? new Set([...ids].filter((id) => narrowed.has(id))) : narrowed;
    }
    return { auth, selection: ids, prefixed: true, origin: originOf(headers) };
  }

  /**
   * A Streamable HTTP request of `auth` through a door: continues the session it names, or opens one with its
   * `initialize`. Everything else is the JSON-RPC error the SDK's transport would give.
   */
  async streamable(
    auth: AuthContext,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    selection: Selection,
    body: unknown,
  ): Promise<void> {
    this.checkOrigin(req.headers);
    const id = first(req.headers['mcp-session-id']);
    if (id) {
      const held = this.find(req, path);
      // A process that is draining or shutting down continues no session it does not hold: the client (or the
      // balancer) retries, and another replica, or this one after its restart, continues it.
      if (!held && (this.drain.isDraining || this.sessions.closing))
        return jsonRpcError(
          res,
          503,
          -32000,
          'The gateway is shutting down: retry the request (the session goes on, on another replica or after the restart)',
        );
      // Held here, or continued from the session store (opened on another replica, or before a restart).
      const session =
        held ??
        (await this.sessions.resume({
          id,
          path,
          keyId: auth.keyId,
          scopeOf: () => this.scope(auth, req.headers, selection),
          headers: req.headers,
        }));
      if (!session || !this.admit(session, auth, req.headers))
        return jsonRpcError(
          res,
          404,
          -32001,
          'Session not found: start a new one with an initialize request',
        );
      return this.serve(session, req, res, body);
    }
    // A 2026-07-28 request: no session, served statelessly on the same path.
    if (req.method === 'POST' && !isInitializeRequest(body) && (await this.modern.claims(req, body)))
      return this.modern.serve(this.admitModern(auth, req.headers, selection), req, res, body);
    if (req.method !== 'POST' || !isInitializeRequest(body))
      return jsonRpcError(
        res,
        400,
        -32000,
        req.method === 'POST'
          ? 'Bad Request: no Mcp-Session-Id header; start with an initialize request'
          : 'Bad Request: Mcp-Session-Id header is required',
      );
    const scope = await this.admitNew(auth, req.headers, selection);
    const sessionId = randomUUID();
    const transport = new NodeStreamableHttpServerTransport({
      ...this.sessions.transportOptions(sessionId),
      onsessioninitialized: () => this.sessions.register(sessionId, session),
    });
    const session = await this.sessions.create(scope, req.headers, transport, {
      id: sessionId,
      path,
      initialize: body.params,
    });
    await session.start();
    await transport.handleRequest(req, res, body);
  }

  /**
   * What every 2026-07-28 request passes (each stands alone: no session): origin, a scope with something in
   * it. Throws the usual errors (403 origin, 403 NO_MCP_ACCESS, 400 UNKNOWN_MCP_SERVER).
   */
  admitModern(auth: AuthContext, headers: IncomingHttpHeaders, selection: Selection = { kind: 'all' }) {
    this.checkOrigin(headers);
    const scope = this.scope(auth, headers, selection);
    this.view.assertSomethingVisible(scope);
    return scope;
  }

  /** A legacy HTTP+SSE session: the GET stream, its messages posted to SSE_MESSAGES_PATH. */
  async openSse(auth: AuthContext, req: IncomingMessage, res: ServerResponse, selection: Selection) {
    const scope = await this.admitNew(auth, req.headers, selection);
    const transport = new SSEServerTransport(SSE_MESSAGES_PATH, res);
    const session = await this.sessions.create(scope, req.headers, transport, {
      id: transport.sessionId,
      path: req.url ?? '',
      initialize: null,
    });
    this.sessions.register(transport.sessionId, session);
    // Its stream is the session: gone with it, for good.
    res.on('close', () => void session.close(true));
    await session.start();
    this.logger.debug({ msg: 'legacy SSE session opened', session_id: transport.sessionId });
  }

  /** A legacy SSE message through the Nest route (the fast lane takes most of them). */
  async sseMessage(auth: AuthContext, req: IncomingMessage, res: ServerResponse, id: string | undefined) {
    this.checkOrigin(req.headers);
    const body = (req as { body?: unknown }).body;
    const session = this.findSse(id);
    if (session && this.admit(session, auth, req.headers)) return this.serve(session, req, res, body);
    // Its stream may be held by another replica (a balancer without sticky sessions): handed over to it.
    const elsewhere = !session && id ? await this.sessions.sseElsewhere(id, auth.keyId) : null;
    if (!elsewhere || !id)
      return jsonRpcError(res, 404, -32001, 'Session not found: open a new one with GET /mcp/sse');
    if (refuseSseMessage(req, res, body)) return;
    if (!(await this.sessions.forwardSse(id, body as JSONRPCMessage)))
      return jsonRpcError(
        res,
        503,
        -32000,
        `This session's stream is held by another gateway replica and the message could not be handed over to it (messages over ${MAX_SIGNAL_BYTES} bytes cannot be): route a legacy SSE client's requests to one replica (sticky sessions) or use Streamable HTTP`,
        requestIdOf(body),
      );
    res.writeHead(202).end('Accepted');
  }

  /** What every new session passes: origin, no drain, a scope with something in it; upstreams listed once. */
  private async admitNew(auth: AuthContext, headers: IncomingHttpHeaders, selection: Selection) {
    this.checkOrigin(headers);
    if (this.drain.isDraining) throw new GatewayDrainingError();
    const scope = this.scope(auth, headers, selection);
    const visible = this.view.assertSomethingVisible(scope);
    // A fresh gateway lists the upstreams once here (bounded), so initialize carries their instructions.
    await this.catalog.warm(
      visible.map((v) => v.server),
      INSTRUCTIONS_WAIT_MS,
    );
    return scope;
  }

  private singleScope(auth: AuthContext, headers: IncomingHttpHeaders, alias: string): CallerScope {
    const server = this.registry.find(alias);
    const visible =
      server && this.view.visibleServers({ auth, selection: new Set([server.serverId]) }).length > 0;
    if (!server || !visible)
      throw new UnknownMcpServerError(`unknown or not permitted MCP server ${JSON.stringify(alias)}`, {
        param: 'alias',
      });
    const scope = this.scope(auth, headers, { kind: 'all' });
    return { ...scope, prefixed: false, selection: new Set([server.serverId]) };
  }
}

/** `scheme://host` the caller used (the Host header, and X-Forwarded-Proto behind a proxy), if it is sane. */
export function originOf(headers: IncomingHttpHeaders): string | undefined {
  const host = first(headers.host);
  if (!host || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return undefined;
  const proto = first(headers['x-forwarded-proto'])?.split(',')[0].trim();
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}
