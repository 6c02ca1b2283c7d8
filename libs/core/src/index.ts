export * from './app-error.js';
export * from './request-context.js';
export * from './redact.js';
export * from './package-info.js';
