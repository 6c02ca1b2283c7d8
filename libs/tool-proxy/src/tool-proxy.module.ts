import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { McpRegistryModule } from '@app/mcp-registry';
import { McpCatalog } from './catalog.js';
import { GatewayView } from './gateway-view.js';
import { McpController } from './mcp.controller.js';
import { McpFastLane } from './mcp-fast-lane.js';
import { RestToolsService } from './rest-tools.service.js';
import { McpSessionManager } from './session-manager.js';
import { UpstreamPool } from './upstream-pool.js';

/** The MCP gateway: upstream pool, catalog, client-facing MCP endpoint and REST tool routes. */
@Module({
  imports: [McpRegistryModule, AuthModule],
  controllers: [McpController],
  providers: [UpstreamPool, McpCatalog, GatewayView, McpSessionManager, RestToolsService, McpFastLane],
  exports: [UpstreamPool, McpCatalog, GatewayView, McpSessionManager],
})
export class ToolProxyModule {}
