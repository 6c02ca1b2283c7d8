export * from './api-key.js';
export * from './auth-context.js';
export * from './auth.decorators.js';
export * from './auth.guard.js';
export * from './auth.module.js';
export * from './access-policy.js';
