import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '@app/auth';
import {
  CreateMcpServerDto,
  McpHealthService,
  McpServerService,
  type ServerHealth,
  TestMcpServerDto,
  UpdateMcpServerDto,
  probeMcpServer,
} from '@app/mcp-registry';
import { type McpServerResponse, toMcpServerResponse } from './mcp-server.response.js';

/** `/v1/mcp/server` CRUD, health and access groups (the product page's routes and status codes). */
@Controller('v1/mcp')
export class McpServerController {
  constructor(
    private readonly servers: McpServerService,
    private readonly health: McpHealthService,
  ) {}

  @Get('server')
  list(): McpServerResponse[] {
    return this.servers.list().map((s) => toMcpServerResponse(s, this.health.lastKnown(s.serverId)));
  }

  /** `?server_ids=a&server_ids=b` (ids, names or aliases); all servers when absent. */
  @Get('server/health')
  async healthOf(@Query('server_ids') ids?: string | string[]): Promise<ServerHealth[]> {
    const wanted = ids === undefined ? this.servers.list() : [ids].flat().map((id) => this.servers.get(id));
    return this.health.checkMany(wanted);
  }

  @Get('server/:id')
  async get(@Param('id') id: string): Promise<McpServerResponse> {
    const server = this.servers.get(id);
    return toMcpServerResponse(server, await this.health.check(server));
  }

  @Post('server')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateMcpServerDto): Promise<McpServerResponse> {
    return toMcpServerResponse(await this.servers.create(dto, auth.actor));
  }

  @Put('server')
  @HttpCode(202)
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateMcpServerDto): Promise<McpServerResponse> {
    return toMcpServerResponse(await this.servers.update(dto, auth.actor));
  }

  @Delete('server/:id')
  @HttpCode(202)
  async remove(@Auth() auth: AuthContext, @Param('id') id: string) {
    const removed = await this.servers.remove(id, auth.actor);
    return { deleted: true, server_id: removed.serverId, server_name: removed.serverName };
  }

  /** Tries a definition without saving it: connects, initializes, lists tools. */
  @Post('server/test')
  @HttpCode(200)
  async test(@Body() dto: TestMcpServerDto) {
    const draft = await this.servers.draft(dto);
    const result = await probeMcpServer(draft, draft.timeoutMs ?? undefined);
    return {
      status: result.status,
      latency_ms: result.latency_ms,
      tools: result.tools.map((t) => ({ name: t.name, description: t.description ?? null })),
      ...(result.error ? { error: result.error } : {}),
    };
  }

  @Get('access_groups')
  accessGroups() {
    return { access_groups: this.servers.accessGroups() };
  }
}
