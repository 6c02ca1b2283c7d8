import { All, Controller, Get, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AdminOnly, AnyKey, Auth, type AuthContext } from '@app/auth';
import { McpErrorFilter } from './mcp-error.filter.js';
import { SessionDoor, SSE_MESSAGES_PATH, type Selection } from './session-door.js';
import { McpSessionManager } from './session-manager.js';

const opensSse = (req: Request) => req.method === 'GET' && !req.headers['mcp-session-id'];

/**
 * The client-facing MCP endpoint (Streamable HTTP and legacy HTTP+SSE) in three forms: aggregated `/mcp`,
 * narrowed `/mcp/{a,b}`, and single-server `/{alias}/mcp`. Each route only names its door; the SessionDoor
 * does the rest. Specific routes come before the parametric ones.
 */
@Controller()
@AnyKey()
@UseFilters(McpErrorFilter)
export class McpController {
  constructor(
    private readonly door: SessionDoor,
    private readonly sessions: McpSessionManager,
  ) {}

  /** Live client sessions, upstream connections and stdio processes: a leak shows here. */
  @Get('v1/mcp/sessions')
  @AdminOnly()
  stats() {
    return this.sessions.stats();
  }

  @Get(['mcp/sse', 'sse'])
  sse(@Auth() auth: AuthContext, @Req() req: Request, @Res() res: Response) {
    return this.door.openSse(auth, req, res, { kind: 'all' });
  }

  @Post(SSE_MESSAGES_PATH.slice(1))
  sseMessage(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Query('sessionId') id?: string,
  ) {
    return this.door.sseMessage(auth, req, res, id);
  }

  @All(['mcp', 'mcp/'])
  root(@Auth() auth: AuthContext, @Req() req: Request, @Res() res: Response) {
    return this.enter(auth, req, res, { kind: 'all' });
  }

  @All('mcp/:servers')
  scoped(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Param('servers') servers: string,
  ) {
    return this.enter(auth, req, res, { kind: 'servers', names: servers.split(',') });
  }

  @All(':alias/mcp')
  single(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Param('alias') alias: string,
  ) {
    return this.enter(auth, req, res, { kind: 'single', alias });
  }

  private enter(auth: AuthContext, req: Request, res: Response, selection: Selection) {
    if (opensSse(req)) return this.door.openSse(auth, req, res, selection);
    return this.door.streamable(auth, req, res, req.path, selection, req.body as unknown);
  }
}
