export {
  GatewayDataSource,
  type DatabaseKind,
  type EntityClass,
  type MigrationClass,
  MIGRATIONS_TABLE,
  openDatabase,
  type OpenDatabaseOptions,
  pendingMigrations,
  runMigrations,
} from './gateway-data-source.js';
export { DatabaseHealthService, type DatabaseHealth } from './database-health.service.js';
export { DatabaseModule, type DatabaseModuleOptions } from './database.module.js';
export { AuditedEntity } from './audited.entity.js';
export { isForeignKeyViolation, isUniqueViolation } from './pg-errors.js';
export { EmbeddedPostgres } from './embedded-postgres.js';
export {
  CHANGE_CHANNEL,
  MAX_SIGNAL_BYTES,
  ChangeBus,
  type ChangeEvent,
  type ChangeListener,
  type ChangeTopic,
} from './change-bus.js';
