import { Body, Controller, Get, HttpCode, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AnyKey, Auth, type AuthContext } from '@app/auth';
import { UpstreamOriginGuard } from '../session/origin-check.js';
import { disconnectSignal } from './disconnect-signal.js';
import { SessionDoor } from '../session/session-door.js';
import { RestToolsService } from './rest-tools.service.js';
import { RestToolCallDto, ToolCallDto } from './tool-call.dto.js';

/**
 * The REST twins of the MCP endpoint, for clients that do not speak MCP (same scoping, same call path). The
 * origin rule runs as a guard, before the body is even validated.
 */
@Controller()
@UseGuards(UpstreamOriginGuard)
@AnyKey()
export class RestToolsController {
  constructor(
    private readonly door: SessionDoor,
    private readonly rest: RestToolsService,
  ) {}

  @Get('mcp/enabled')
  enabled() {
    return { enabled: true };
  }

  @Get(['mcp/tools/list', 'mcp-rest/tools/list'])
  list(@Auth() auth: AuthContext, @Req() req: Request, @Query('server_id') serverId?: string) {
    const selection = serverId ? { kind: 'servers' as const, names: [serverId] } : { kind: 'all' as const };
    return this.rest.list(this.door.scope(auth, req.headers, selection));
  }

  @Get('v1/mcp/tools')
  async v1Tools(@Auth() auth: AuthContext, @Req() req: Request) {
    const { tools } = await this.rest.list(this.door.scope(auth, req.headers, { kind: 'all' }));
    return { tools };
  }

  @Post('mcp/tools/call')
  @HttpCode(200)
  call(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() dto: ToolCallDto,
  ) {
    const scope = this.door.scope(auth, req.headers, { kind: 'all' });
    return this.rest.call(scope, dto.name, dto.arguments, req.headers, disconnectSignal(res));
  }

  @Post('mcp-rest/tools/call')
  @HttpCode(200)
  restCall(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() dto: RestToolCallDto,
  ) {
    if (!dto.server_id) return this.call(auth, req, res, dto);
    const scope = {
      ...this.door.scope(auth, req.headers, { kind: 'servers', names: [dto.server_id] }),
      prefixed: false,
    };
    return this.rest.call(scope, dto.name, dto.arguments, req.headers, disconnectSignal(res));
  }
}
