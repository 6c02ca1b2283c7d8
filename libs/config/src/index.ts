export { type LogLevel, type LogFormat, type GatewayConfig, type ModelListEntry } from './config.types.js';
export { ConfigError } from './config-errors.js';
export { loadConfig } from './load-config.js';
export { GATEWAY_CONFIG, GatewayConfigModule } from './config.module.js';
export { flattenValidationErrors } from './config-file.schema.js';
export { IsNameListMap } from './validators.js';
