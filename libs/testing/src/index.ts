export * from './test-database.js';
export * from './log-capture.js';
export * from './test-app.js';
export * from './mcp-fixture.js';
export * from './rich-fixture.js';
