import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository, SelectQueryBuilder } from 'typeorm';
import { AdminEventEntity } from './admin-event.entity.js';
import { ModelCallLogEntity } from './model-call-log.entity.js';
import { ToolCallLogEntity } from './tool-call-log.entity.js';

export interface LogFilter {
  server?: string;
  tool?: string;
  keyAlias?: string;
  teamId?: string;
  outcome?: string;
  since?: Date;
  until?: Date;
  /** Rows with a smaller id than this (the previous page's `next_cursor`). */
  before?: string;
  limit: number;
}

export interface EventFilter {
  objectType?: string;
  objectId?: string;
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  before?: string;
  limit: number;
}

export const SPEND_GROUPS = ['key', 'team', 'server', 'tool'] as const;
export type SpendGroup = (typeof SPEND_GROUPS)[number];

const GROUP_COLUMN: Record<SpendGroup, string> = {
  key: `COALESCE(l.key_alias, l.key_hash, 'master_key')`,
  team: `l.team_id`,
  server: `l.server_alias`,
  tool: `l.tool`,
};

export interface SpendRow {
  group: string | null;
  calls: number;
  errors: number;
  cost: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** Reads of the audit log and admin events for the admin API (keyset pages, newest first), and spend reports. */
@Injectable()
export class AuditQuery {
  constructor(
    @InjectRepository(ToolCallLogEntity) private readonly calls: Repository<ToolCallLogEntity>,
    @InjectRepository(AdminEventEntity) private readonly events: Repository<AdminEventEntity>,
    @InjectRepository(ModelCallLogEntity) private readonly models: Repository<ModelCallLogEntity>,
  ) {}

  async logs(filter: LogFilter): Promise<{ rows: ToolCallLogEntity[]; nextCursor: string | null }> {
    const q = this.calls.createQueryBuilder('l');
    if (filter.server)
      q.andWhere('(l.server_alias = :server OR l.server_id = :server)', { server: filter.server });
    if (filter.tool) q.andWhere('l.tool = :tool', { tool: filter.tool });
    if (filter.keyAlias) q.andWhere('l.key_alias = :keyAlias', { keyAlias: filter.keyAlias });
    if (filter.teamId) q.andWhere('l.team_id = :teamId', { teamId: filter.teamId });
    if (filter.outcome) q.andWhere('l.outcome = :outcome', { outcome: filter.outcome });
    this.window(q, 'l.called_at', filter);
    return this.page(q, 'l', filter);
  }

  async adminEvents(filter: EventFilter): Promise<{ rows: AdminEventEntity[]; nextCursor: string | null }> {
    const q = this.events.createQueryBuilder('e');
    if (filter.objectType) q.andWhere('e.object_type = :type', { type: filter.objectType });
    if (filter.objectId) q.andWhere('e.object_id = :id', { id: filter.objectId });
    if (filter.action) q.andWhere('e.action = :action', { action: filter.action });
    if (filter.actor) q.andWhere('e.actor = :actor', { actor: filter.actor });
    this.window(q, 'e.occurred_at', filter);
    return this.page(q, 'e', filter);
  }

  /** Model requests (the OpenAI-compatible endpoints), newest first. */
  async modelLogs(filter: {
    model?: string;
    keyAlias?: string;
    before?: string;
    limit: number;
  }): Promise<{ rows: ModelCallLogEntity[]; nextCursor: string | null }> {
    const q = this.models.createQueryBuilder('m');
    if (filter.model) q.andWhere('m.model = :model', { model: filter.model });
    if (filter.keyAlias) q.andWhere('m.key_alias = :keyAlias', { keyAlias: filter.keyAlias });
    return this.page(q, 'm', filter);
  }

  /** Calls, errors (anything but ok), cost and duration percentiles per group, over [since, until). */
  async spend(groupBy: SpendGroup, window: { since?: Date; until?: Date }): Promise<SpendRow[]> {
    const q = this.calls
      .createQueryBuilder('l')
      .select(`${GROUP_COLUMN[groupBy]}`, 'group')
      .addSelect('COUNT(*)::int', 'calls')
      .addSelect(`COUNT(*) FILTER (WHERE l.outcome <> 'ok')::int`, 'errors')
      .addSelect('COALESCE(SUM(l.cost), 0)::float8', 'cost')
      .addSelect('percentile_cont(0.5) WITHIN GROUP (ORDER BY l.duration_ms)::float8', 'p50_ms')
      .addSelect('percentile_cont(0.95) WITHIN GROUP (ORDER BY l.duration_ms)::float8', 'p95_ms')
      .groupBy('1')
      .orderBy('cost', 'DESC')
      .addOrderBy('calls', 'DESC');
    this.window(q, 'l.called_at', window);
    const rows = await q.getRawMany<SpendRow>();
    return rows.map((r) => ({
      group: r.group,
      calls: Number(r.calls),
      errors: Number(r.errors),
      cost: Math.round(Number(r.cost) * 1e9) / 1e9,
      p50_ms: r.p50_ms === null ? null : Math.round(Number(r.p50_ms) * 10) / 10,
      p95_ms: r.p95_ms === null ? null : Math.round(Number(r.p95_ms) * 10) / 10,
    }));
  }

  private window<T extends object>(
    q: SelectQueryBuilder<T>,
    column: string,
    window: { since?: Date; until?: Date },
  ): void {
    if (window.since) q.andWhere(`${column} >= :since`, { since: window.since });
    if (window.until) q.andWhere(`${column} < :until`, { until: window.until });
  }

  private async page<T extends { id: string }>(
    q: SelectQueryBuilder<T>,
    alias: string,
    filter: { before?: string; limit: number },
  ): Promise<{ rows: T[]; nextCursor: string | null }> {
    if (filter.before) q.andWhere(`${alias}.id < :before`, { before: filter.before });
    const rows = await q
      .orderBy(`${alias}.id`, 'DESC')
      .take(filter.limit + 1)
      .getMany();
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    return { rows: page, nextCursor: more ? page[page.length - 1].id : null };
  }
}
