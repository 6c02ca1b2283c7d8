import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { McpServerEntity } from './mcp-server.entity.js';

// TypeORM's deep-partial type cannot follow `Record<string, unknown>` (mcp_info jsonb): the rows are complete.
type Row = QueryDeepPartialEntity<McpServerEntity>;

/** Postgres unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;
}

/** Persistence of DB-defined upstream servers. Only the registry service uses it. */
@Injectable()
export class McpServerRepository {
  constructor(@InjectRepository(McpServerEntity) private readonly repo: Repository<McpServerEntity>) {}

  listAll(): Promise<McpServerEntity[]> {
    return this.repo.find({ order: { serverName: 'ASC' } });
  }

  async insert(row: Omit<McpServerEntity, 'createdAt' | 'updatedAt'>): Promise<McpServerEntity> {
    await this.repo.insert(row as Row);
    return this.repo.findOneByOrFail({ serverId: row.serverId });
  }

  /** Writes every column of the row; returns the stored row, or null if it no longer exists. */
  async replace(row: Omit<McpServerEntity, 'createdAt' | 'updatedAt'>): Promise<McpServerEntity | null> {
    const { serverId, ...fields } = row;
    const result = await this.repo.update({ serverId }, fields as Row);
    return result.affected ? this.repo.findOneBy({ serverId }) : null;
  }

  async deleteById(serverId: string): Promise<boolean> {
    const result = await this.repo.delete({ serverId });
    return (result.affected ?? 0) > 0;
  }
}
