import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { McpRegistryModule } from '@app/mcp-registry';
import { ObservabilityModule } from '@app/observability';
import { ToolProxyModule } from '@app/tool-proxy';
import { KeyController } from './key.controller.js';
import { McpServerController } from './mcp-server.controller.js';
import { ObservabilityController } from './observability.controller.js';
import { TeamController } from './team.controller.js';

/** The admin REST API: upstream servers, keys and teams, metrics, logs, events and spend. */
@Module({
  imports: [McpRegistryModule, AuthModule, ToolProxyModule, ObservabilityModule],
  controllers: [McpServerController, KeyController, TeamController, ObservabilityController],
})
export class AdminModule {}
