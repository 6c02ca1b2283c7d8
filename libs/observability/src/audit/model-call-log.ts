import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { ModelCallLogEntity } from './model-call-log.entity.js';

export type ModelCallRow = Omit<ModelCallLogEntity, 'id'>;

/**
 * Model usage (`model_call_log`): one row per upstream model request, written after it ends (a model call takes
 * hundreds of milliseconds; one INSERT beside it is nothing). A failed write is logged, never thrown. Read
 * through AuditQuery.modelLogs.
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
}
