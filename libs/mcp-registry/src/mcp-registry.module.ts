import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { McpServerEntity } from './mcp-server.entity.js';

/** The registry of upstream MCP servers (config file and database). */
@Module({
  imports: [TypeOrmModule.forFeature([McpServerEntity])],
})
export class McpRegistryModule {}
