export * from './mcp-server.response.js';
export * from './admin.module.js';
