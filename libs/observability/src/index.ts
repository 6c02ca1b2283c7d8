export { PinoLoggerService } from './pino-logger.js';
export { HealthController, type ReadinessResponse } from './health.controller.js';
export { HealthModule } from './health.module.js';
export { DrainState } from './drain-state.js';
export { GatewayMetrics, MAX_TOOL_LABELS_PER_SERVER } from './metrics.js';
export { ObservabilityModule } from './observability.module.js';
export { AuditLog, type ToolCallRow } from './audit/audit-log.js';
export { AdminEvents, type AdminAction, type AdminObject } from './audit/admin-events.js';
export {
  AuditQuery,
  type EventFilter,
  type LogFilter,
  SPEND_GROUPS,
  type SpendGroup,
  type SpendRow,
} from './audit/audit-query.js';
export type { AdminEventEntity } from './audit/admin-event.entity.js';
export type { ToolCallLogEntity } from './audit/tool-call-log.entity.js';
export { type BudgetRefusal, SpendLedger } from './spend/spend-ledger.js';
export { type CallSpan, type CallSpanInfo, Tracing } from './tracing.js';
export { ModelCallLog, type ModelCallRow } from './audit/model-call-log.js';
export type { ModelCallLogEntity } from './audit/model-call-log.entity.js';
