import { Module } from '@nestjs/common';
import { McpRegistryModule } from '@app/mcp-registry';
import { McpServerController } from './mcp-server.controller.js';

/** The admin REST API. */
@Module({ imports: [McpRegistryModule], controllers: [McpServerController] })
export class AdminModule {}
