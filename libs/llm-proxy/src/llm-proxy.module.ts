import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { ObservabilityModule } from '@app/observability';
import { ToolProxyModule } from '@app/tool-proxy';
import { ChatService } from './chat.service.js';
import { LlmController } from './llm.controller.js';
import { ModelRouter } from './model-router.js';

/** The OpenAI-compatible endpoints over `model_list`, with the caller's MCP tools (issue 17). */
@Module({
  imports: [AuthModule, ToolProxyModule, ObservabilityModule],
  controllers: [LlmController],
  providers: [ModelRouter, ChatService],
})
export class LlmProxyModule {}
