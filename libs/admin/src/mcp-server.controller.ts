import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { accessFor, AdminOnly, AnyKey, Auth, type AuthContext, canReadAll } from '@app/auth';
import {
  CreateMcpServerDto,
  McpRegistry,
  type McpServerRecord,
  McpServerNotFoundError,
  McpServerService,
  type ServerWriter,
  TestMcpServerDto,
  UpdateMcpServerDto,
} from '@app/mcp-registry';
import { AdminEvents } from '@app/observability';
import { McpHealthService, type ServerHealth, UpstreamOriginGuard } from '@app/tool-proxy';
import {
  type McpServerResponse,
  type ScopedMcpServerResponse,
  toMcpServerResponse,
  toScopedServerResponse,
} from './mcp-server.response.js';

function writerOf(auth: AuthContext): ServerWriter {
  return { actor: auth.actor, masterKey: auth.kind === 'master_key' };
}

/**
 * `/v1/mcp/server` CRUD, health and access groups (the product page's routes and status codes). Writes are
 * admin-only; reads are scoped: a non-admin key sees only the servers it may use, without connection details,
 * and any other server is a 404 (so that ids do not leak).
 */
@Controller('v1/mcp')
export class McpServerController {
  constructor(
    private readonly servers: McpServerService,
    private readonly registry: McpRegistry,
    private readonly health: McpHealthService,
    private readonly events: AdminEvents,
  ) {}

  /** The servers this caller may see: all for admins and viewers, else those its grants reach. */
  private visible(auth: AuthContext): readonly McpServerRecord[] {
    if (canReadAll(auth)) return this.servers.list();
    const snapshot = this.registry.current();
    const access = accessFor(auth.subject, snapshot);
    return snapshot.servers.filter((s) => access.has(s.serverId));
  }

  private visibleOne(auth: AuthContext, ref: string): McpServerRecord {
    const server = this.servers.get(ref);
    if (!canReadAll(auth) && !accessFor(auth.subject, this.registry.current()).has(server.serverId))
      throw new McpServerNotFoundError(ref);
    return server;
  }

  private view(auth: AuthContext, server: McpServerRecord, health?: ServerHealth) {
    return canReadAll(auth) ? toMcpServerResponse(server, health) : toScopedServerResponse(server, health);
  }

  @Get('server')
  @AnyKey()
  list(@Auth() auth: AuthContext): (McpServerResponse | ScopedMcpServerResponse)[] {
    return this.visible(auth).map((s) => this.view(auth, s, this.health.lastKnown(s.serverId)));
  }

  /** `?server_ids=a&server_ids=b` (ids, names or aliases); all visible servers when absent. */
  @Get('server/health')
  @AnyKey()
  @UseGuards(UpstreamOriginGuard)
  async healthOf(
    @Auth() auth: AuthContext,
    @Query('server_ids') ids?: string | string[],
  ): Promise<ServerHealth[]> {
    const wanted =
      ids === undefined ? this.visible(auth) : [ids].flat().map((id) => this.visibleOne(auth, id));
    const results = await this.health.checkMany(wanted);
    return canReadAll(auth) ? results : results.map(({ error: _error, ...rest }) => rest);
  }

  @Get('server/:id')
  @AnyKey()
  @UseGuards(UpstreamOriginGuard)
  async get(@Auth() auth: AuthContext, @Param('id') id: string) {
    const server = this.visibleOne(auth, id);
    return this.view(auth, server, await this.health.check(server));
  }

  @Post('server')
  @AdminOnly()
  async create(@Auth() auth: AuthContext, @Body() dto: CreateMcpServerDto): Promise<McpServerResponse> {
    const created = await this.servers.create(dto, writerOf(auth));
    await this.events.record({
      actor: auth.actor,
      objectType: 'server',
      objectIds: [created.serverId],
      action: 'create',
      changedFields: AdminEvents.fieldsOf(dto),
    });
    return toMcpServerResponse(created);
  }

  @Put('server')
  @AdminOnly()
  @HttpCode(202)
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateMcpServerDto): Promise<McpServerResponse> {
    const updated = await this.servers.update(dto, writerOf(auth));
    await this.events.record({
      actor: auth.actor,
      objectType: 'server',
      objectIds: [updated.serverId],
      action: 'update',
      changedFields: AdminEvents.fieldsOf(dto),
    });
    return toMcpServerResponse(updated);
  }

  @Delete('server/:id')
  @AdminOnly()
  @HttpCode(202)
  async remove(@Auth() auth: AuthContext, @Param('id') id: string) {
    const removed = await this.servers.remove(id, auth.actor);
    await this.events.record({
      actor: auth.actor,
      objectType: 'server',
      objectIds: [removed.serverId],
      action: 'delete',
    });
    return { deleted: true, server_id: removed.serverId, server_name: removed.serverName };
  }

  /** Tries a definition without saving it: connects, initializes, lists tools. Admins only (it dials out). */
  @Post('server/test')
  @AdminOnly()
  @UseGuards(UpstreamOriginGuard)
  @HttpCode(200)
  async test(@Auth() auth: AuthContext, @Body() dto: TestMcpServerDto) {
    const draft = await this.servers.draft(dto, writerOf(auth));
    const result = await this.health.probe(draft);
    return {
      status: result.status,
      latency_ms: result.latency_ms,
      tools: result.tools.map((t) => ({
        name: t.name,
        description: t.description ?? null,
        inputSchema: t.inputSchema,
      })),
      ...(result.error ? { error: result.error } : {}),
    };
  }

  @Get('access_groups')
  @AnyKey()
  accessGroups(@Auth() auth: AuthContext) {
    return { access_groups: [...new Set(this.visible(auth).flatMap((s) => s.mcpAccessGroups))].sort() };
  }
}
