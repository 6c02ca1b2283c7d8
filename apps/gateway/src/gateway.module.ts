import { type DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from '@app/admin';
import { AuthModule } from '@app/auth';
import { type GatewayConfig, GatewayConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LlmProxyModule } from '@app/llm-proxy';
import { McpRegistryModule } from '@app/mcp-registry';
import { HealthModule } from '@app/observability';
import { ToolProxyModule } from '@app/tool-proxy';
import { ALL_MIGRATIONS } from '../../../migrations/index.js';
import { WebUiController } from './web-ui.controller.js';

/** Composition root: wires the lib modules for one resolved configuration, and serves the web UI's files. */
@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [WebUiController],
      imports: [
        GatewayConfigModule.forRoot(config),
        DatabaseModule.forRoot({ database: config.database, migrations: ALL_MIGRATIONS }),
        AuthModule,
        HealthModule,
        McpRegistryModule,
        AdminModule,
        ToolProxyModule,
        LlmProxyModule,
      ],
    };
  }
}
