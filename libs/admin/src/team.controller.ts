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
import { toKeyResponse, type TeamResponse, toTeamResponse } from './auth.responses.js';

/** `/team/*`: teams own keys and bound their grants (the product page's routes). */
@Controller('team')
@AdminOnly()
export class TeamController {
  constructor(
    private readonly teams: TeamService,
    private readonly registry: McpRegistry,
  ) {}

  @Post('new')
  @HttpCode(200)
  async create(@Auth() auth: AuthContext, @Body() dto: NewTeamDto): Promise<TeamResponse> {
    return toTeamResponse(await this.teams.create(dto, auth.actor, this.registry.current().servers));
  }

  @Post('update')
  @HttpCode(200)
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateTeamDto): Promise<TeamResponse> {
    return toTeamResponse(await this.teams.update(dto, auth.actor, this.registry.current().servers));
  }

  @Post('delete')
  @HttpCode(200)
  async remove(@Auth() auth: AuthContext, @Body() dto: DeleteTeamsDto) {
    return { deleted_teams: await this.teams.remove(dto.team_ids, auth.actor) };
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
