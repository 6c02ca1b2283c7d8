import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { McpRegistryModule } from '@app/mcp-registry';
import { HealthModule, ObservabilityModule } from '@app/observability';
import { RestToolsController } from './calls/rest-tools.controller.js';
import { RestToolsService } from './calls/rest-tools.service.js';
import { CallRecorder } from './calls/call-recorder.js';
import { McpToolbox } from './calls/mcp-toolbox.js';
import { RateLimiter } from './calls/rate-limiter.js';
import { ToolCaller } from './calls/tool-caller.js';
import { McpCatalog } from './catalog/catalog.js';
import { GatewayView } from './catalog/gateway-view.js';
import { McpController } from './session/mcp.controller.js';
import { McpFastLane } from './session/mcp-fast-lane.js';
import { SessionDoor } from './session/session-door.js';
import { McpSessionManager } from './session/session-manager.js';
import { McpHealthService } from './upstream/mcp-health.service.js';
import { UpstreamDialer } from './upstream/upstream-dialer.js';
import { UpstreamPool } from './upstream/upstream-pool.js';

/**
 * The MCP gateway: the wire to upstreams (pool, transports, health), the catalog and per-caller view, the one
 * tool-call path, the one session door, the client-facing MCP endpoint and its REST twins.
 */
@Module({
  imports: [McpRegistryModule, AuthModule, HealthModule, ObservabilityModule],
  controllers: [RestToolsController, McpController],
  providers: [
    UpstreamDialer,
    UpstreamPool,
    McpHealthService,
    McpCatalog,
    GatewayView,
    CallRecorder,
    RateLimiter,
    ToolCaller,
    McpSessionManager,
    SessionDoor,
    RestToolsService,
    McpFastLane,
    McpToolbox,
  ],
  exports: [McpHealthService, McpSessionManager, ToolCaller, McpToolbox, RateLimiter],
})
export class ToolProxyModule {}
