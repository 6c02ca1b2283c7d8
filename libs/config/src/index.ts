export * from './config.types.js';
export * from './config-errors.js';
export * from './env-references.js';
export * from './load-config.js';
export * from './config.module.js';
export { flattenValidationErrors } from './config-file.schema.js';
