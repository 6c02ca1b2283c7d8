export * from './tools.js';
export * from './calls.js';
