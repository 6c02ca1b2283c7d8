import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { McpRegistryModule } from '@app/mcp-registry';
import { ToolProxyModule } from '@app/tool-proxy';
import { KeyController } from './key.controller.js';
import { McpServerController } from './mcp-server.controller.js';
import { TeamController } from './team.controller.js';

/** The admin REST API: upstream servers, keys and teams. */
@Module({
  imports: [McpRegistryModule, AuthModule, ToolProxyModule],
  controllers: [McpServerController, KeyController, TeamController],
})
export class AdminModule {}
