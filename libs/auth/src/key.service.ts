import { Injectable, Logger } from '@nestjs/common';
import { maskSecret } from '@app/core';
import { isForeignKeyViolation, isUniqueViolation } from '@app/database';
import { grantOutsideTeam, type PolicyServer } from './access-policy.js';
import type { DeleteKeysDto, GenerateKeyDto, UpdateKeyDto } from './auth.dto.js';
import {
  GrantOutsideTeamError,
  KeyAliasConflictError,
  KeyNotFoundError,
  NothingToDeleteError,
  UnknownTeamError,
} from './auth.errors.js';
import { grantsOf, mergeGrants, NO_GRANTS, type StoredGrants } from './grants.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { limitsFrom, type StoredLimits } from './limits.js';
import { KeyRepository, type NewKeyRow } from './key.repository.js';
import { generateApiKey, hashApiKey, parseDuration } from './key-secret.js';
import { checkServerRefs, TeamService } from './team.service.js';
import type { VirtualKeyEntity } from './virtual-key.entity.js';

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
    private readonly keys: KeyRepository,
    private readonly teams: TeamService,
    private readonly authenticator: KeyAuthenticator,
  ) {}

  async find(ref: string): Promise<VirtualKeyEntity> {
    const row = await this.keys.findByRef(ref);
    if (!row) throw new KeyNotFoundError([ref]);
    return this.withPendingLastUsed(row);
  }

  async list(filter: KeyListFilter): Promise<{ rows: VirtualKeyEntity[]; total: number }> {
    const [rows, total] = await this.keys.listPage(filter);
    return { rows: rows.map((r) => this.withPendingLastUsed(r)), total };
  }

  async generate(dto: GenerateKeyDto, actor: string, servers: readonly PolicyServer[]): Promise<IssuedKey> {
    const grants = mergeGrants(NO_GRANTS, dto.object_permission);
    const teamId = dto.team_id ?? null;
    await this.checkGrants(grants, teamId, servers);
    const key = generateApiKey();
    const row: NewKeyRow = {
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
      userId: dto.user_id ?? null,
      ...(limitsFrom(dto, true) as StoredLimits),
      createdBy: actor,
      updatedBy: actor,
    };
    let keyId: string;
    try {
      keyId = await this.keys.insert(row);
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
    return { key, row: await this.keys.findById(keyId) };
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
      await this.keys.update(current.keyId, {
        ...grants,
        teamId,
        ...(dto.key_alias !== undefined ? { keyAlias: dto.key_alias } : {}),
        ...(dto.role !== undefined ? { role: dto.role } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        ...(dto.blocked !== undefined ? { blocked: dto.blocked } : {}),
        ...(dto.metadata !== undefined ? { metadata: dto.metadata } : {}),
        ...(dto.user_id !== undefined ? { userId: dto.user_id } : {}),
        ...limitsFrom(dto, false),
        updatedBy: actor,
      });
    } catch (error) {
      throw this.translateWriteError(error, dto.key_alias, teamId);
    }
    this.authenticator.invalidate();
    this.logger.log({ msg: 'key updated', key_id: current.keyId, key_name: current.keyName, by: actor });
    return this.find(current.keyId);
  }

  async setBlocked(ref: string, blocked: boolean, actor: string): Promise<VirtualKeyEntity> {
    const current = await this.find(ref);
    await this.keys.update(current.keyId, { blocked, updatedBy: actor });
    this.authenticator.invalidate();
    this.logger.log({ msg: blocked ? 'key blocked' : 'key unblocked', key_id: current.keyId, by: actor });
    return this.find(current.keyId);
  }

  /** A new secret for the same key (grants, team, alias, expiry kept); the old secret stops working at once. */
  async regenerate(ref: string, actor: string): Promise<IssuedKey> {
    const current = await this.find(ref);
    const key = generateApiKey();
    await this.keys.update(current.keyId, {
      tokenHash: hashApiKey(key),
      keyName: maskSecret(key),
      updatedBy: actor,
    });
    this.authenticator.invalidate();
    this.logger.log({ msg: 'key regenerated', key_id: current.keyId, key_name: maskSecret(key), by: actor });
    return { key, row: await this.keys.findById(current.keyId) };
  }

  /** Deletes the named keys, all or none (404 naming the unknown ones). */
  async remove(dto: DeleteKeysDto, actor: string): Promise<VirtualKeyEntity[]> {
    const refs = [...(dto.keys ?? []), ...(dto.key_aliases ?? [])];
    if (refs.length === 0) throw new NothingToDeleteError();
    const rows = new Map<string, VirtualKeyEntity>();
    const missing: string[] = [];
    for (const ref of dto.keys ?? []) {
      const row = await this.keys.findByRef(ref);
      if (row) rows.set(row.keyId, row);
      else missing.push(ref);
    }
    for (const alias of dto.key_aliases ?? []) {
      const row = await this.keys.findByAlias(alias);
      if (row) rows.set(row.keyId, row);
      else missing.push(alias);
    }
    if (missing.length) throw new KeyNotFoundError(missing);
    await this.keys.deleteByIds([...rows.keys()]);
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
    if (isUniqueViolation(error)) return new KeyAliasConflictError(keyAlias);
    if (isForeignKeyViolation(error)) return new UnknownTeamError(teamId, true);
    return error;
  }
}
