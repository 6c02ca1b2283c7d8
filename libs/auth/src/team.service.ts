import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { isForeignKeyViolation, isUniqueViolation } from '@app/database';
import { type PolicyServer, unknownServerRef } from './access-policy.js';
import type { NewTeamDto, UpdateTeamDto } from './auth.dto.js';
import {
  InvalidGrantError,
  TeamConflictError,
  TeamHasKeysError,
  TeamNotFoundError,
  UnknownTeamError,
} from './auth.errors.js';
import { grantsOf, mergeGrants, NO_GRANTS } from './grants.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { KeyRepository } from './key.repository.js';
import { limitsFrom, type StoredLimits } from './limits.js';
import type { TeamEntity } from './team.entity.js';
import { TeamRepository } from './team.repository.js';
import type { VirtualKeyEntity } from './virtual-key.entity.js';

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
    private readonly teams: TeamRepository,
    private readonly keys: KeyRepository,
    private readonly authenticator: KeyAuthenticator,
  ) {}

  list(): Promise<TeamEntity[]> {
    return this.teams.listAll();
  }

  async get(teamId: string): Promise<TeamEntity> {
    const team = await this.teams.findById(teamId);
    if (!team) throw new TeamNotFoundError([teamId]);
    return team;
  }

  keysOf(teamId: string): Promise<VirtualKeyEntity[]> {
    return this.keys.listOfTeam(teamId);
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
        ...(limitsFrom(dto, true) as StoredLimits),
        createdBy: actor,
        updatedBy: actor,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new TeamConflictError(teamId);
      throw error;
    }
    this.authenticator.invalidate('teams');
    this.logger.log({ msg: 'team created', team_id: teamId, by: actor });
    return this.get(teamId);
  }

  async update(dto: UpdateTeamDto, actor: string, servers: readonly PolicyServer[]): Promise<TeamEntity> {
    const team = await this.get(dto.team_id);
    const grants = mergeGrants(team, dto.object_permission);
    if (dto.object_permission !== undefined) checkServerRefs(grants, servers);
    await this.teams.update(team.teamId, {
      ...(dto.team_alias !== undefined ? { teamAlias: dto.team_alias } : {}),
      ...(dto.blocked !== undefined ? { blocked: dto.blocked } : {}),
      ...(dto.metadata !== undefined ? { metadata: dto.metadata } : {}),
      ...limitsFrom(dto, false),
      ...grants,
      updatedBy: actor,
    });
    this.authenticator.invalidate('teams');
    this.logger.log({ msg: 'team updated', team_id: team.teamId, by: actor });
    return this.get(team.teamId);
  }

  /**
   * Deletes teams, all or none. A team that still has keys is refused (409) rather than orphaning or silently
   * revoking them: delete the keys or move them to another team first.
   */
  async remove(teamIds: string[], actor: string): Promise<string[]> {
    const ids = [...new Set(teamIds)];
    const found = await this.teams.findByIds(ids);
    const missing = ids.filter((id) => !found.some((t) => t.teamId === id));
    if (missing.length) throw new TeamNotFoundError(missing, 'team_ids');
    const withKeys = await this.keys.countByTeam(ids);
    if (withKeys.length) throw new TeamHasKeysError(withKeys);
    try {
      await this.teams.deleteByIds(ids);
    } catch (error) {
      // A key created for the team between the check and the delete: the foreign key refuses it.
      if (isForeignKeyViolation(error)) throw new TeamHasKeysError(null);
      throw error;
    }
    this.authenticator.invalidate('teams');
    this.logger.log({ msg: 'teams deleted', team_ids: ids, by: actor });
    return ids;
  }

  /** The grants of a team, for checking a key's (null when the key has no team). */
  async grantsFor(teamId: string | null) {
    if (teamId === null) return null;
    const team = await this.teams.findById(teamId);
    if (!team) throw new UnknownTeamError(teamId);
    return grantsOf(team);
  }
}
