import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type FindOptionsWhere, In, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { hashApiKey, TOKEN_HASH_PATTERN } from './key-secret.js';
import { VirtualKeyEntity } from './virtual-key.entity.js';

// TypeORM's deep-partial type cannot follow `Record<string, unknown>` (metadata jsonb).
type KeyRow = QueryDeepPartialEntity<VirtualKeyEntity>;
export type NewKeyRow = Omit<VirtualKeyEntity, 'keyId' | 'team' | 'createdAt' | 'updatedAt'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How a key is named in requests: the key itself, its token hash, its key_id, or its alias. */
function byRef(ref: string): FindOptionsWhere<VirtualKeyEntity> {
  if (ref.startsWith('sk-')) return { tokenHash: hashApiKey(ref) };
  if (TOKEN_HASH_PATTERN.test(ref)) return { tokenHash: ref };
  if (UUID.test(ref)) return { keyId: ref.toLowerCase() };
  return { keyAlias: ref };
}

/** Persistence of virtual keys (only hashes are stored). The only place that touches their table. */
@Injectable()
export class KeyRepository {
  constructor(@InjectRepository(VirtualKeyEntity) private readonly repo: Repository<VirtualKeyEntity>) {}

  findByRef(ref: string): Promise<VirtualKeyEntity | null> {
    return this.repo.findOneBy(byRef(ref));
  }

  findByAlias(alias: string): Promise<VirtualKeyEntity | null> {
    return this.repo.findOneBy({ keyAlias: alias });
  }

  findById(keyId: string): Promise<VirtualKeyEntity> {
    return this.repo.findOneByOrFail({ keyId });
  }

  /** A page of keys, oldest first, optionally of one team or alias, and the total count. */
  listPage(filter: { teamId?: string; keyAlias?: string; page: number; size: number }) {
    return this.repo.findAndCount({
      where: {
        ...(filter.teamId !== undefined ? { teamId: filter.teamId } : {}),
        ...(filter.keyAlias !== undefined ? { keyAlias: filter.keyAlias } : {}),
      },
      order: { createdAt: 'ASC', keyId: 'ASC' },
      skip: (filter.page - 1) * filter.size,
      take: filter.size,
    });
  }

  listOfTeam(teamId: string): Promise<VirtualKeyEntity[]> {
    return this.repo.find({ where: { teamId }, order: { createdAt: 'ASC' } });
  }

  /** How many keys each of these teams has (teams without keys are left out). */
  countByTeam(teamIds: string[]): Promise<{ team_id: string; keys: number }[]> {
    return this.repo
      .createQueryBuilder('k')
      .select('k.team_id', 'team_id')
      .addSelect('count(*)::int', 'keys')
      .where('k.team_id IN (:...ids)', { ids: teamIds })
      .groupBy('k.team_id')
      .getRawMany<{ team_id: string; keys: number }>();
  }

  /** The key with this token hash and its team, in one query (the authenticator's cache miss). */
  findByHashWithTeam(hash: string): Promise<VirtualKeyEntity | null> {
    return this.repo
      .createQueryBuilder('k')
      .leftJoinAndSelect('k.team', 'team')
      .where('k.token_hash = :hash', { hash })
      .getOne();
  }

  async insert(row: NewKeyRow): Promise<string> {
    const result = await this.repo.insert(row as KeyRow);
    return (result.identifiers[0] as { keyId: string }).keyId;
  }

  async update(keyId: string, fields: Partial<NewKeyRow>): Promise<void> {
    await this.repo.update({ keyId }, fields as KeyRow);
  }

  async deleteByIds(keyIds: string[]): Promise<void> {
    await this.repo.delete({ keyId: In(keyIds) });
  }

  /** Writes many `last_used_at` values in one statement; never moves one back in time. */
  async recordLastUsed(batch: Map<string, Date>): Promise<void> {
    const ids = [...batch.keys()];
    const times = ids.map((id) => (batch.get(id) as Date).toISOString());
    await this.repo.query(
      `UPDATE virtual_key AS k SET last_used_at = v.at
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
       WHERE k.key_id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`,
      [ids, times],
    );
  }
}
