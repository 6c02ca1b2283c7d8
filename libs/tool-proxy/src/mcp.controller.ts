import {
  All,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Logger,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { AdminOnly, AnyKey, Auth, type AuthContext } from '@app/auth';
import { AppError } from '@app/core';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { checkOrigin } from './origin-check.js';
import { McpRegistry } from '@app/mcp-registry';
import { type CallerScope, GatewayView } from './gateway-view.js';
import { McpCatalog } from './catalog.js';
import { McpSessionManager } from './session-manager.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';
import { ToolCallDto, RestToolCallDto } from './tool-call.dto.js';
import { RestToolsService } from './rest-tools.service.js';

/** Where legacy SSE clients post their messages. */
export const SSE_MESSAGES_PATH = '/mcp/sse/messages';
/** How long a new session waits for unlisted upstreams, so that `initialize` can carry their instructions. */
const INSTRUCTIONS_WAIT_MS = 2000;

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

const headerValue = (req: Request, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The client-facing MCP endpoint (Streamable HTTP and legacy HTTP+SSE) in three forms: aggregated `/mcp`,
 * narrowed `/mcp/{a,b}`, and single-server `/{alias}/mcp`; and the REST twins for non-MCP clients.
 * Specific routes come before the parametric ones.
 */
@Controller()
@AnyKey()
export class McpController {
  private readonly logger = new Logger('Gateway');

  constructor(
    private readonly sessions: McpSessionManager,
    private readonly view: GatewayView,
    private readonly registry: McpRegistry,
    private readonly rest: RestToolsService,
    private readonly catalog: McpCatalog,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** DNS-rebinding protection on every MCP and REST tool route (403 for a foreign browser origin). */
  private checkOrigin(req: Request): void {
    checkOrigin(
      { origin: headerValue(req, 'origin'), host: headerValue(req, 'host') },
      { allowedOrigins: this.config.mcp.allowedOrigins, listenHost: this.config.server.host },
    );
  }

  // --- REST twins -------------------------------------------------------------------------------------

  @Get('mcp/enabled')
  enabled() {
    return { enabled: true };
  }

  /** Live client sessions, upstream connections and stdio processes: a leak shows here. */
  @Get('v1/mcp/sessions')
  @AdminOnly()
  stats() {
    return this.sessions.stats();
  }

  @Get(['mcp/tools/list', 'mcp-rest/tools/list'])
  listTools(@Auth() auth: AuthContext, @Req() req: Request, @Query('server_id') serverId?: string) {
    return this.rest.list(this.scopeFor(auth, req, serverId ? [serverId] : null, true));
  }

  @Get('v1/mcp/tools')
  async v1Tools(@Auth() auth: AuthContext, @Req() req: Request) {
    const { tools } = await this.rest.list(this.scopeFor(auth, req, null, true));
    return { tools };
  }

  @Post('mcp/tools/call')
  @HttpCode(200)
  callTool(@Auth() auth: AuthContext, @Req() req: Request, @Body() dto: ToolCallDto) {
    return this.rest.call(this.scopeFor(auth, req, null, true), dto.name, dto.arguments, req.headers);
  }

  @Post('mcp-rest/tools/call')
  @HttpCode(200)
  restCallTool(@Auth() auth: AuthContext, @Req() req: Request, @Body() dto: RestToolCallDto) {
    if (!dto.server_id) return this.callTool(auth, req, dto);
    const scope = this.scopeFor(auth, req, [dto.server_id], false);
    return this.rest.call(scope, dto.name, dto.arguments, req.headers);
  }

  // --- MCP endpoint -----------------------------------------------------------------------------------

  @Get(['mcp/sse', 'sse'])
  sse(@Auth() auth: AuthContext, @Req() req: Request, @Res() res: Response) {
    return this.openSse(this.scopeFor(auth, req, null, true), req, res);
  }

  @Post(SSE_MESSAGES_PATH.slice(1))
  async sseMessage(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Query('sessionId') id?: string,
  ) {
    this.checkOrigin(req);
    const session = id ? this.sessions.get(id) : undefined;
    if (!session || !(session.transport instanceof SSEServerTransport) || session.keyId !== auth.keyId)
      return jsonRpcError(res, 404, -32001, 'Session not found: open a new one with GET /mcp/sse');
    session.scope = { ...session.scope, auth };
    session.lastActivity = Date.now();
    await session.transport.handlePostMessage(req, res, req.body);
  }

  @All(['mcp', 'mcp/'])
  root(@Auth() auth: AuthContext, @Req() req: Request, @Res() res: Response) {
    if (req.method === 'GET' && !headerValue(req, 'mcp-session-id'))
      return this.openSse(this.scopeFor(auth, req, null, true), req, res);
    return this.streamable(auth, req, res, () => this.scopeFor(auth, req, null, true));
  }

  @All('mcp/:servers')
  scoped(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Param('servers') servers: string,
  ) {
    const scope = () => this.scopeFor(auth, req, servers.split(','), true);
    if (req.method === 'GET' && !headerValue(req, 'mcp-session-id')) return this.openSse(scope(), req, res);
    return this.streamable(auth, req, res, scope);
  }

  @All(':alias/mcp')
  single(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Param('alias') alias: string,
  ) {
    const scope = () => this.singleScope(auth, req, alias);
    if (req.method === 'GET' && !headerValue(req, 'mcp-session-id')) return this.openSse(scope(), req, res);
    return this.streamable(auth, req, res, scope);
  }

  // ----------------------------------------------------------------------------------------------------

  /** The caller's scope: narrowed by a path selection, and further by `x-mcp-servers`. */
  private scopeFor(
    auth: AuthContext,
    req: Request,
    pathSelection: string[] | null,
    prefixed: boolean,
  ): CallerScope {
    let selection: Set<string> | null = pathSelection ? this.view.select(auth, pathSelection) : null;
    const header = headerValue(req, 'x-mcp-servers');
    if (header !== undefined && header.trim() !== '') {
      const narrowed = this.view.select(auth, header.split(','));
      selection = selection ? new Set([...selection].filter((id) => narrowed.has(id))) : narrowed;
    }
    return { auth, selection, prefixed };
  }

  private singleScope(auth: AuthContext, req: Request, alias: string): CallerScope {
    const server = this.registry.find(alias);
    const visible =
      server && this.view.visibleServers({ auth, selection: new Set([server.serverId]) }).length > 0;
    if (!server || !visible)
      throw new AppError(
        'UNKNOWN_MCP_SERVER',
        `unknown or not permitted MCP server ${JSON.stringify(alias)}`,
        { param: 'alias' },
      );
    return { ...this.scopeFor(auth, req, null, false), selection: new Set([server.serverId]) };
  }

  private async streamable(auth: AuthContext, req: Request, res: Response, scope: () => CallerScope) {
    this.checkOrigin(req);
    const id = headerValue(req, 'mcp-session-id');
    if (id) {
      const session = this.sessions.get(id);
      if (
        !session ||
        !(session.transport instanceof NodeStreamableHttpServerTransport) ||
        session.keyId !== auth.keyId
      )
        return jsonRpcError(
          res,
          404,
          -32001,
          'Session not found: start a new one with an initialize request',
        );
      session.scope = { ...session.scope, auth };
      session.lastActivity = Date.now();
      return session.transport.handleRequest(req, res, req.body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return jsonRpcError(
        res,
        400,
        -32000,
        req.method === 'POST'
          ? 'Bad Request: no Mcp-Session-Id header; start with an initialize request'
          : 'Bad Request: Mcp-Session-Id header is required',
      );
    }
    const callerScope = scope();
    const visible = this.view.assertSomethingVisible(callerScope);
    // A fresh gateway lists the upstreams once here (bounded), so initialize carries their instructions.
    await this.catalog.warm(
      visible.map((v) => v.server),
      INSTRUCTIONS_WAIT_MS,
    );
    const transport = new NodeStreamableHttpServerTransport({
      onsessioninitialized: (sessionId) => this.sessions.register(sessionId, session),
    });
    const session = this.sessions.create(callerScope, req.headers, transport);
    session.path = req.path;
    await session.start();
    await transport.handleRequest(req, res, req.body);
  }

  private async openSse(scope: CallerScope, req: Request, res: Response) {
    const visible = this.view.assertSomethingVisible(scope);
    await this.catalog.warm(
      visible.map((v) => v.server),
      INSTRUCTIONS_WAIT_MS,
    );
    const transport = new SSEServerTransport(SSE_MESSAGES_PATH, res);
    const session = this.sessions.create(scope, req.headers, transport);
    this.sessions.register(transport.sessionId, session);
    res.on('close', () => void session.close());
    await session.start();
    this.logger.debug({ msg: 'legacy SSE session opened', session_id: transport.sessionId });
  }
}
