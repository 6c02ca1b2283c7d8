import { Module } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
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
import { McpOperations } from './session/mcp-operations.js';
import { InputLeases } from './session/input-exchange.js';
import { InputRelay } from './session/input-relay.js';
import { InputRelayEntity } from './session/input-relay.entity.js';
import { InputRounds } from './session/input-rounds.js';
import { ModernEndpoint } from './session/modern-endpoint.js';
import { RequestStateSeal } from './session/request-state.js';
import { McpSessionManager } from './session/session-manager.js';
import { ClientSessionEntity } from './session/client-session.entity.js';
import { PostgresSessionStore, RedisSessionStore, SessionStore } from './session/session-store.js';
import { SharedRedis } from './shared-redis.js';
import { McpHealthService } from './upstream/mcp-health.service.js';
import { UpstreamDialer } from './upstream/upstream-dialer.js';
import { UpstreamPool } from './upstream/upstream-pool.js';
import { ModernUpstreams } from './upstream/modern-upstreams.js';
import { UpstreamSignInController } from './oauth/upstream-sign-in.controller.js';
import { UpstreamOAuthClientEntity, UpstreamSignInEntity } from './oauth/upstream-sign-in.entity.js';
import { UpstreamSignIns } from './oauth/upstream-sign-ins.js';

/**
 * The MCP gateway: the wire to upstreams (pool, transports, health), the catalog and per-caller view, the one
 * tool-call path, the one session door, the client-facing MCP endpoint and its REST twins.
 */
@Module({
  imports: [
    McpRegistryModule,
    AuthModule,
    HealthModule,
    ObservabilityModule,
    TypeOrmModule.forFeature([
      ClientSessionEntity,
      InputRelayEntity,
      UpstreamSignInEntity,
      UpstreamOAuthClientEntity,
    ]),
  ],
  controllers: [RestToolsController, McpController, UpstreamSignInController],
  providers: [
    SharedRedis,
    {
      // Client sessions in Redis when there is one (REDIS_URL), else in the database.
      provide: SessionStore,
      inject: [SharedRedis, getDataSourceToken(), GATEWAY_CONFIG],
      useFactory: (redis: SharedRedis, db: DataSource, config: GatewayConfig): SessionStore =>
        redis.client
          ? new RedisSessionStore(redis.client, config.mcp.sessionIdleTimeoutMs)
          : new PostgresSessionStore(db),
    },
    UpstreamDialer,
    UpstreamPool,
    ModernUpstreams,
    UpstreamSignIns,
    McpHealthService,
    McpCatalog,
    GatewayView,
    CallRecorder,
    RateLimiter,
    ToolCaller,
    McpOperations,
    ModernEndpoint,
    RequestStateSeal,
    InputLeases,
    InputRelay,
    InputRounds,
    McpSessionManager,
    SessionDoor,
    RestToolsService,
    McpFastLane,
    McpToolbox,
  ],
  exports: [McpHealthService, McpSessionManager, ToolCaller, McpToolbox, RateLimiter],
})
export class ToolProxyModule {}
