export {
  type ErrorCode,
  type ErrorType,
  type AppErrorOptions,
  AppError,
  ValidationFailedError,
} from './app-error.js';
export {
  runWithRequestContext,
  currentRequestId,
  resolveRequestId,
  PUBLIC_ROUTE,
} from './request-context.js';
export { redactUrl, maskSecret, maskKeysIn } from './redact.js';
export { packageInfo } from './package-info.js';
export {
  DATABASE_RETRY_AFTER_S,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
} from './database-unavailable.js';
