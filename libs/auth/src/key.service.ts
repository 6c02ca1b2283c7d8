import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { type FindOptionsWhere, In, type Repository } from 'typeorm';
import { AppError, maskSecret } from '@app/core';
import { grantOutsideTeam, type PolicyServer } from './access-policy.js';
import type { DeleteKeysDto, GenerateKeyDto, UpdateKeyDto } from './auth.dto.js';
import { GrantOutsideTeamError, KeyNotFoundError } from './auth.errors.js';
import { grantsOf, mergeGrants, NO_GRANTS, type StoredGrants } from './grants.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { generateApiKey, hashApiKey, parseDuration, TOKEN_HASH_PATTERN } from './key-secret.js';
import { checkServerRefs, isPgError, TeamService } from './team.service.js';
import { VirtualKeyEntity } from './virtual-key.entity.js';

// TypeORM's deep-partial type cannot follow `Record<string, unknown>` (metadata jsonb).
type KeyRow = QueryDeepPartialEntity<VirtualKeyEntity>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How a key is named in requests: the key itself, its token hash, its key_id, or its alias. */
export function keyWhere(ref: string): FindOptionsWhere<VirtualKeyEntity> {
  if (ref.startsWith('sk-')) return { tokenHash: hashApiKey(ref) };
  if (TOKEN_HASH_PATTERN.test(ref)) return { tokenHash: ref };
  if (UUID.test(ref)) return { keyId: ref.toLowerCase() };
  return { keyAlias: ref };
}

export interface KeyListFilter {
  teamId?: string;
  keyAlias?: string;
  page: number;
  size: number;
}

/** A key just generated or regenerated: the only moment the key itself exists outside the caller. */
export interface IssuedKey {
  key: string;
  row: VirtualKeyEntity;
}

const expiryFrom = (duration: string | null | undefined, now = Date.now()): Date | null | undefined => {
  if (duration === undefined) return undefined;
  if (duration === null) return null;
  return new Date(now + (parseDuration(duration) as number));
};

/** Virtual keys: only hashes are stored; every write invalidates the authenticator's cache. */
@Injectable()
export class KeyService {
  private readonly logger = new Logger('Auth');

  constructor(
    @InjectRepository(VirtualKeyEntity) private readonly keys: Repository<VirtualKeyEntity>,
    private readonly teams: TeamService,
    private readonly authenticator: KeyAuthenticator,
  ) {}

  async find(ref: string): Promise<VirtualKeyEntity> {
    const row = await this.keys.findOneBy(keyWhere(ref));
    if (!row) throw new KeyNotFoundError([ref]);
    return this.withPendingLastUsed(row);
  }

  async list(filter: KeyListFilter): Promise<{ rows: VirtualKeyEntity[]; total: number }> {
    const where: FindOptionsWhere<VirtualKeyEntity> = {
      ...(filter.teamId !== undefined ? { teamId: filter.teamId } : {}),
      ...(filter.keyAlias !== undefined ? { keyAlias: filter.keyAlias } : {}),
    };
    const [rows, total] = await this.keys.findAndCount({
      where,
      order: { createdAt: 'ASC', keyId: 'ASC' },
      skip: (filter.page - 1) * filter.size,
      take: filter.size,
    });
    return { rows: rows.map((r) => this.withPendingLastUsed(r)), total };
  }

  async generate(dto: GenerateKeyDto, actor: string, servers: readonly PolicyServer[]): Promise<IssuedKey> {
    const grants = mergeGrants(NO_GRANTS, dto.object_permission);
    const teamId = dto.team_id ?? null;
    await this.checkGrants(grants, teamId, servers);
    const key = generateApiKey();
    const row = {
      tokenHash: hashApiKey(key),
      keyAlias: dto.key_alias ?? null,
      keyName: maskSecret(key),
      teamId,
      role: dto.role ?? 'internal_user',
      ...grants,
      expiresAt: expiryFrom(dto.duration) ?? null,
      blocked: false,
      lastUsedAt: null,
      metadata: dto.metadata ?? {},
      createdBy: actor,
      updatedBy: actor,
    };
    let keyId: string;
    try {
      const result = await this.keys.insert(row as KeyRow);
      keyId = (result.identifiers[0] as { keyId: string }).keyId;
    } catch (error) {
      throw this.translateWriteError(error, dto.key_alias, teamId);
    }
    this.authenticator.invalidate();
    this.logger.log({
      msg: 'key generated',
      key_id: keyId,
      key_name: row.keyName,
      team_id: teamId,
      by: actor,
    });
    return { key, row: await this.keys.findOneByOrFail({ keyId }) };
  }

  async update(
    dto: UpdateKeyDto,
    actor: string,
    servers: readonly PolicyServer[],
  ): Promise<VirtualKeyEntity> {
    const current = await this.find(dto.key);
    const grants = mergeGrants(current, dto.object_permission);
    const teamId = dto.team_id === undefined ? current.teamId : dto.team_id;
    if (dto.object_permission !== undefined || dto.team_id !== undefined)
      await this.checkGrants(grants, teamId, servers);
    const expiresAt = expiryFrom(dto.duration);
    try {
      await this.keys.update({ keyId: current.keyId }, {
        ...grants,
        teamId,
        ...(dto.key_alias !== undefined ? { keyAlias: dto.key_alias } : {}),
        ...(dto.role !== undefined ? { role: dto.role } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        ...(dto.blocked !== undefined ? { blocked: dto.blocked } : {}),
        ...(dto.metadata !== undefined ? { metadata: dto.metadata } : {}),
        updatedBy: actor,
      } as KeyRow);
    } catch (error) {
      throw this.translateWriteError(error, dto.key_alias, teamId);
    }
    this.authenticator.invalidate();
    this.logger.log({ msg: 'key updated', key_id: current.keyId, key_name: current.keyName, by: actor });
    return this.find(current.keyId);
  }

  async setBlocked(ref: string, blocked: boolean, actor: string): Promise<VirtualKeyEntity> {
    const current = await this.find(ref);
    await this.keys.update({ keyId: current.keyId }, { blocked, updatedBy: actor });
    this.authenticator.invalidate();
    this.logger.log({ msg: blocked ? 'key blocked' : 'key unblocked', key_id: current.keyId, by: actor });
    return this.find(current.keyId);
  }

  /** A new secret for the same key (grants, team, alias, expiry kept); the old secret stops working at once. */
  async regenerate(ref: string, actor: string): Promise<IssuedKey> {
    const current = await this.find(ref);
    const key = generateApiKey();
    await this.keys.update(
      { keyId: current.keyId },
      { tokenHash: hashApiKey(key), keyName: maskSecret(key), updatedBy: actor },
    );
    this.authenticator.invalidate();
    this.logger.log({ msg: 'key regenerated', key_id: current.keyId, key_name: maskSecret(key), by: actor });
    return { key, row: await this.keys.findOneByOrFail({ keyId: current.keyId }) };
  }

  /** Deletes the named keys, all or none (404 naming the unknown ones). */
  async remove(dto: DeleteKeysDto, actor: string): Promise<VirtualKeyEntity[]> {
    const refs = [...(dto.keys ?? []), ...(dto.key_aliases ?? [])];
    if (refs.length === 0)
      throw new AppError(
        'BAD_REQUEST',
        'name the keys to delete: {"keys": [...]} or {"key_aliases": [...]}',
        {
          param: 'keys',
        },
      );
    const rows = new Map<string, VirtualKeyEntity>();
    const missing: string[] = [];
    for (const ref of dto.keys ?? []) {
      const row = await this.keys.findOneBy(keyWhere(ref));
      if (row) rows.set(row.keyId, row);
      else missing.push(ref);
    }
    for (const alias of dto.key_aliases ?? []) {
      const row = await this.keys.findOneBy({ keyAlias: alias });
      if (row) rows.set(row.keyId, row);
      else missing.push(alias);
    }
    if (missing.length) throw new KeyNotFoundError(missing);
    await this.keys.delete({ keyId: In([...rows.keys()]) });
    this.authenticator.invalidate();
    this.authenticator.forget([...rows.keys()]);
    this.logger.log({ msg: 'keys deleted', key_ids: [...rows.keys()], by: actor });
    return [...rows.values()];
  }

  private async checkGrants(grants: StoredGrants, teamId: string | null, servers: readonly PolicyServer[]) {
    checkServerRefs(grants, servers);
    const team = await this.teams.grantsFor(teamId);
    if (team === null || teamId === null) return;
    const problem = grantOutsideTeam(grantsOf(grants), team, servers);
    if (problem) throw new GrantOutsideTeamError(problem, teamId);
  }

  private withPendingLastUsed(row: VirtualKeyEntity): VirtualKeyEntity {
    const pending = this.authenticator.pendingLastUsedAt(row.keyId);
    if (pending && (!row.lastUsedAt || row.lastUsedAt < pending)) row.lastUsedAt = pending;
    return row;
  }

  private translateWriteError(error: unknown, keyAlias: string | null | undefined, teamId: string | null) {
    if (isPgError(error, '23505'))
      return new AppError(
        'KEY_ALIAS_CONFLICT',
        `key_alias ${JSON.stringify(keyAlias)} is already used by another key`,
        {
          param: 'key_alias',
        },
      );
    if (isPgError(error, '23503'))
      return new AppError(
        'BAD_REQUEST',
        `team_id ${JSON.stringify(teamId)} does not exist (it was just deleted?)`,
        {
          param: 'team_id',
        },
      );
    return error;
  }
}
