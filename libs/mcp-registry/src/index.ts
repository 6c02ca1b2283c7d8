export * from './mcp-server.entity.js';
export * from './mcp-registry.module.js';
