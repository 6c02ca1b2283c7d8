export * from './embedded-postgres.js';
export * from './gateway-data-source.js';
export * from './snake-naming.strategy.js';
export * from './database-health.service.js';
export * from './database.module.js';
export * from './audited.entity.js';
