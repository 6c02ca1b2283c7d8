import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { McpRegistry } from './mcp-registry.js';
import { McpServerEntity } from './mcp-server.entity.js';
import { McpServerRepository } from './mcp-server.repository.js';
import { McpServerService } from './mcp-server.service.js';
import { HostResolution } from './url-safety.js';

/** The registry of upstream MCP servers (config file and database). */
@Module({
  imports: [TypeOrmModule.forFeature([McpServerEntity])],
  providers: [McpServerRepository, McpRegistry, McpServerService, HostResolution],
  exports: [McpRegistry, McpServerService, HostResolution],
})
export class McpRegistryModule {}
