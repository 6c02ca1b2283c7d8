export { startRequest } from './request-id.middleware.js';
export { JSON_BODY_LIMIT_BYTES, configureApp } from './configure-app.js';
export { AllExceptionsFilter } from './all-exceptions.filter.js';
export { type ErrorBody, errorTypeForStatus } from './error-status.js';
export { inputProblem, MAX_JSON_DEPTH } from './input-guard.js';
