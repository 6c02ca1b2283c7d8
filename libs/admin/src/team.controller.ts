import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  AdminOnly,
  Auth,
  type AuthContext,
  DeleteTeamsDto,
  NewTeamDto,
  TeamService,
  UpdateTeamDto,
} from '@app/auth';
import { AppError } from '@app/core';
import { McpRegistry } from '@app/mcp-registry';
import { AdminEvents } from '@app/observability';
import { toKeyResponse, type TeamResponse, toTeamResponse } from './auth.responses.js';

/** `/team/*`: teams own keys and bound their grants (the product page's routes). */
@Controller('team')
@AdminOnly()
export class TeamController {
  constructor(
    private readonly teams: TeamService,
    private readonly registry: McpRegistry,
    private readonly events: AdminEvents,
  ) {}

  @Post('new')
  @HttpCode(200)
  async create(@Auth() auth: AuthContext, @Body() dto: NewTeamDto): Promise<TeamResponse> {
    const team = await this.teams.create(dto, auth.actor, this.registry.current().servers);
    await this.events.record({
      actor: auth.actor,
      objectType: 'team',
      objectIds: [team.teamId],
      action: 'create',
      changedFields: AdminEvents.fieldsOf(dto),
    });
    return toTeamResponse(team);
  }

  @Post('update')
  @HttpCode(200)
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateTeamDto): Promise<TeamResponse> {
    const team = await this.teams.update(dto, auth.actor, this.registry.current().servers);
    const fields = AdminEvents.fieldsOf(dto);
    await this.events.record({
      actor: auth.actor,
      objectType: 'team',
      objectIds: [team.teamId],
      action: fields.length === 1 && fields[0] === 'blocked' ? (dto.blocked ? 'block' : 'unblock') : 'update',
      changedFields: fields,
    });
    return toTeamResponse(team);
  }

  @Post('delete')
  @HttpCode(200)
  async remove(@Auth() auth: AuthContext, @Body() dto: DeleteTeamsDto) {
    const deleted = await this.teams.remove(dto.team_ids, auth.actor);
    await this.events.record({
      actor: auth.actor,
      objectType: 'team',
      objectIds: dto.team_ids,
      action: 'delete',
    });
    return { deleted_teams: deleted };
  }

  @Get('info')
  async info(@Query('team_id') teamId?: string) {
    if (!teamId)
      throw new AppError('VALIDATION_FAILED', 'team_id is required: ?team_id=...', { param: 'team_id' });
    const team = await this.teams.get(teamId);
    const keys = await this.teams.keysOf(teamId);
    return { team_id: team.teamId, team_info: toTeamResponse(team), keys: keys.map(toKeyResponse) };
  }

  @Get('list')
  async list(): Promise<TeamResponse[]> {
    return (await this.teams.list()).map(toTeamResponse);
  }
}
