import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { ModelCallLogEntity } from './model-call-log.entity.js';

export type ModelCallRow = Omit<ModelCallLogEntity, 'id'>;

/**
 * Model usage (`model_call_log`): one row per upstream model request, written after it ends (a model call takes
 * hundreds of milliseconds; one INSERT beside it is nothing). A failed write is logged, never thrown.
 */
@Injectable()
export class ModelCallLog {
  private readonly logger = new Logger('ModelCallLog');

  constructor(@InjectRepository(ModelCallLogEntity) private readonly rows: Repository<ModelCallLogEntity>) {}

  record(row: ModelCallRow): void {
    this.rows.insert(row).catch((error: unknown) =>
      this.logger.warn({
        msg: 'model call could not be recorded',
        model: row.model,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  /** Newest first (the admin API's `GET /v1/model/logs`). */
  async page(filter: { model?: string; keyAlias?: string; before?: string; limit: number }) {
    const q = this.rows.createQueryBuilder('m');
    if (filter.model) q.andWhere('m.model = :model', { model: filter.model });
    if (filter.keyAlias) q.andWhere('m.key_alias = :alias', { alias: filter.keyAlias });
    if (filter.before) q.andWhere('m.id < :before', { before: filter.before });
    const rows = await q
      .orderBy('m.id', 'DESC')
      .take(filter.limit + 1)
      .getMany();
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    return { rows: page, nextCursor: more ? page[page.length - 1].id : null };
  }
}
