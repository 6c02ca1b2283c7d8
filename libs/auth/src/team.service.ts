import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { In, type Repository } from 'typeorm';
import { AppError } from '@app/core';
import { type PolicyServer, unknownServerRef } from './access-policy.js';
import type { NewTeamDto, UpdateTeamDto } from './auth.dto.js';
import { InvalidGrantError, TeamNotFoundError } from './auth.errors.js';
import { grantsOf, mergeGrants, NO_GRANTS } from './grants.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { TeamEntity } from './team.entity.js';
import { VirtualKeyEntity } from './virtual-key.entity.js';

// TypeORM's deep-partial type cannot follow `Record<string, unknown>` (metadata jsonb).
type TeamRow = QueryDeepPartialEntity<TeamEntity>;

/** Postgres unique_violation / foreign_key_violation. */
export const isPgError = (error: unknown, code: '23505' | '23503') =>
  (error as { code?: unknown } | null)?.code === code ||
  (error as { driverError?: { code?: unknown } } | null)?.driverError?.code === code;

export function checkServerRefs(
  grants: Parameters<typeof unknownServerRef>[0],
  servers: readonly PolicyServer[],
) {
  const unknown = unknownServerRef(grants, servers);
  if (unknown !== null) throw new InvalidGrantError(unknown, servers.map((s) => s.serverName).sort());
}

/** Teams: CRUD, with grants checked against the registry, and every write invalidating cached keys. */
@Injectable()
export class TeamService {
  private readonly logger = new Logger('Auth');

  constructor(
    @InjectRepository(TeamEntity) private readonly teams: Repository<TeamEntity>,
    @InjectRepository(VirtualKeyEntity) private readonly keys: Repository<VirtualKeyEntity>,
    private readonly authenticator: KeyAuthenticator,
  ) {}

  list(): Promise<TeamEntity[]> {
    return this.teams.find({ order: { createdAt: 'ASC' } });
  }

  async get(teamId: string): Promise<TeamEntity> {
    const team = await this.teams.findOneBy({ teamId });
    if (!team) throw new TeamNotFoundError([teamId]);
    return team;
  }

  keysOf(teamId: string): Promise<VirtualKeyEntity[]> {
    return this.keys.find({ where: { teamId }, order: { createdAt: 'ASC' } });
  }

  async create(dto: NewTeamDto, actor: string, servers: readonly PolicyServer[]): Promise<TeamEntity> {
    const grants = mergeGrants(NO_GRANTS, dto.object_permission);
    checkServerRefs(grants, servers);
    const teamId = dto.team_id ?? randomUUID();
    try {
      await this.teams.insert({
        teamId,
        teamAlias: dto.team_alias ?? null,
        blocked: dto.blocked ?? false,
        ...grants,
        metadata: dto.metadata ?? {},
        createdBy: actor,
        updatedBy: actor,
      } as TeamRow);
    } catch (error) {
      if (isPgError(error, '23505'))
        throw new AppError('TEAM_CONFLICT', `team_id ${JSON.stringify(teamId)} already exists`, {
          param: 'team_id',
        });
      throw error;
    }
    this.authenticator.invalidate();
    this.logger.log({ msg: 'team created', team_id: teamId, by: actor });
    return this.get(teamId);
  }

  async update(dto: UpdateTeamDto, actor: string, servers: readonly PolicyServer[]): Promise<TeamEntity> {
    const team = await this.get(dto.team_id);
    const grants = mergeGrants(team, dto.object_permission);
    if (dto.object_permission !== undefined) checkServerRefs(grants, servers);
    await this.teams.update({ teamId: team.teamId }, {
      ...(dto.team_alias !== undefined ? { teamAlias: dto.team_alias } : {}),
      ...(dto.blocked !== undefined ? { blocked: dto.blocked } : {}),
      ...(dto.metadata !== undefined ? { metadata: dto.metadata } : {}),
      ...grants,
      updatedBy: actor,
    } as TeamRow);
    this.authenticator.invalidate();
    this.logger.log({ msg: 'team updated', team_id: team.teamId, by: actor });
    return this.get(team.teamId);
  }

  /**
   * Deletes teams, all or none. A team that still has keys is refused (409) rather than orphaning or silently
   * revoking them: delete the keys or move them to another team first.
   */
  async remove(teamIds: string[], actor: string): Promise<string[]> {
    const ids = [...new Set(teamIds)];
    const found = await this.teams.findBy({ teamId: In(ids) });
    const missing = ids.filter((id) => !found.some((t) => t.teamId === id));
    if (missing.length) throw new TeamNotFoundError(missing, 'team_ids');
    const withKeys = await this.keys
      .createQueryBuilder('k')
      .select('k.team_id', 'team_id')
      .addSelect('count(*)::int', 'keys')
      .where('k.team_id IN (:...ids)', { ids })
      .groupBy('k.team_id')
      .getRawMany<{ team_id: string; keys: number }>();
    if (withKeys.length) {
      throw new AppError(
        'TEAM_HAS_KEYS',
        `cannot delete ${withKeys.map((t) => `team ${JSON.stringify(t.team_id)} (${t.keys} keys)`).join(', ')}: delete its keys (POST /key/delete) or move them to another team (POST /key/update with "team_id") first; nothing was deleted`,
        { param: 'team_ids', details: { teams_with_keys: withKeys } },
      );
    }
    try {
      await this.teams.delete({ teamId: In(ids) });
    } catch (error) {
      // A key created for the team between the check and the delete: the foreign key refuses it.
      if (isPgError(error, '23503'))
        throw new AppError(
          'TEAM_HAS_KEYS',
          'a key was just added to the team; nothing was deleted, try again',
          {
            param: 'team_ids',
          },
        );
      throw error;
    }
    this.authenticator.invalidate();
    this.logger.log({ msg: 'teams deleted', team_ids: ids, by: actor });
    return ids;
  }

  /** The grants of a team, for checking a key's (null when the key has no team). */
  async grantsFor(teamId: string | null) {
    if (teamId === null) return null;
    const team = await this.teams.findOneBy({ teamId });
    if (!team)
      throw new AppError(
        'BAD_REQUEST',
        `team_id ${JSON.stringify(teamId)} does not exist; create it first with POST /team/new`,
        { param: 'team_id' },
      );
    return grantsOf(team);
  }
}
