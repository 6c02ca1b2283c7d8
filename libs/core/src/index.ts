export {
  type ErrorCode,
  type ErrorType,
  type AppErrorOptions,
  AppError,
  ValidationFailedError,
} from './app-error.js';
export {
  type RequestContext,
  type RequestObserver,
  runWithRequestContext,
  currentRequestContext,
  currentRequestId,
  currentTrace,
  resolveRequestId,
  requestObserver,
  setRequestObserver,
  PUBLIC_ROUTE,
} from './request-context.js';
export {
  type TraceContext,
  formatTraceparent,
  newSpanId,
  parseTraceparent,
  traceFrom,
} from './trace-context.js';
export { redactUrl, maskSecret, maskKeysIn } from './redact.js';
export { packageInfo } from './package-info.js';
export {
  DATABASE_RETRY_AFTER_S,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
} from './database-unavailable.js';
export { type BudgetState, budgetPeriodEnd } from './budget.js';
export { SecretCipher, SecretDecryptionError } from './secret-cipher.js';
