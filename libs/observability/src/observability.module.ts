import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminEventEntity } from './audit/admin-event.entity.js';
import { AdminEvents } from './audit/admin-events.js';
import { AuditLog } from './audit/audit-log.js';
import { AuditQuery } from './audit/audit-query.js';
import { ToolCallLogEntity } from './audit/tool-call-log.entity.js';
import { ModelCallLogEntity } from './audit/model-call-log.entity.js';
import { ModelCallLog } from './audit/model-call-log.js';
import { GatewayMetrics } from './metrics.js';
import { SpendLedger } from './spend/spend-ledger.js';
import { Tracing } from './tracing.js';

/** Metrics, the tool-call audit log, admin events, spend and tracing (issue 16). */
@Module({
  imports: [TypeOrmModule.forFeature([ToolCallLogEntity, AdminEventEntity, ModelCallLogEntity])],
  providers: [GatewayMetrics, AuditLog, AdminEvents, AuditQuery, SpendLedger, Tracing, ModelCallLog],
  exports: [GatewayMetrics, AuditLog, AdminEvents, AuditQuery, SpendLedger, Tracing, ModelCallLog],
})
export class ObservabilityModule {}
