export * from './mcp-server.response.js';
export * from './admin.module.js';
export * from './auth.responses.js';
