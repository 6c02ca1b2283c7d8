import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { TeamEntity } from './team.entity.js';

// TypeORM's deep-partial type cannot follow `Record<string, unknown>` (metadata jsonb).
type TeamRow = QueryDeepPartialEntity<TeamEntity>;
export type NewTeamRow = Omit<TeamEntity, 'createdAt' | 'updatedAt'>;

/** Persistence of teams. The only place that touches their table. */
@Injectable()
export class TeamRepository {
  constructor(@InjectRepository(TeamEntity) private readonly repo: Repository<TeamEntity>) {}

  listAll(): Promise<TeamEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC' } });
  }

  findById(teamId: string): Promise<TeamEntity | null> {
    return this.repo.findOneBy({ teamId });
  }

  findByIds(teamIds: string[]): Promise<TeamEntity[]> {
    return this.repo.findBy({ teamId: In(teamIds) });
  }

  async insert(row: NewTeamRow): Promise<void> {
    await this.repo.insert(row as TeamRow);
  }

  async update(teamId: string, fields: Partial<NewTeamRow>): Promise<void> {
    await this.repo.update({ teamId }, fields as TeamRow);
  }

  async deleteByIds(teamIds: string[]): Promise<void> {
    await this.repo.delete({ teamId: In(teamIds) });
  }
}
