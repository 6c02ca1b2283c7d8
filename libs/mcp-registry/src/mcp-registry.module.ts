import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { McpHealthService } from './mcp-health.service.js';
import { McpRegistry } from './mcp-registry.js';
import { McpServerEntity } from './mcp-server.entity.js';
import { McpServerRepository } from './mcp-server.repository.js';
import { McpServerService } from './mcp-server.service.js';

/** The registry of upstream MCP servers (config file and database) and their health. */
@Module({
  imports: [TypeOrmModule.forFeature([McpServerEntity])],
  providers: [McpServerRepository, McpRegistry, McpServerService, McpHealthService],
  exports: [McpRegistry, McpServerService, McpHealthService],
})
export class McpRegistryModule {}
