export * from './error-status.js';
export * from './all-exceptions.filter.js';
export * from './validation.js';
export * from './request-id.middleware.js';
export * from './configure-app.js';
