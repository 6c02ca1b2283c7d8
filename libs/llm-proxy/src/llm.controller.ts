import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AnyKey, Auth, type AuthContext } from '@app/auth';
import { currentRequestId } from '@app/core';
import { errorTypeForStatus } from '@app/http';
import { disconnectSignal } from '@app/tool-proxy';
import { ChatService, ModelUpstreamError } from './chat.service.js';

/**
 * The OpenAI-compatible endpoints (`base_url` = the gateway, key = a virtual key): models, chat completions
 * (streamed or not) and responses. Upstream errors come back with the upstream's status and error body.
 */
@Controller()
@AnyKey()
export class LlmController {
  constructor(private readonly chat: ChatService) {}

  @Get(['v1/models', 'models'])
  models(@Auth() auth: AuthContext) {
    return {
      object: 'list',
      data: this.chat
        .listModels(auth)
        .map((id) => ({ id, object: 'model', created: 0, owned_by: 'mcp-gateway' })),
    };
  }

  @Post(['v1/chat/completions', 'chat/completions'])
  @HttpCode(200)
  async completions(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Body() body: unknown,
  ): Promise<void> {
    const signal = disconnectSignal(res);
    const streaming =
      body !== null && typeof body === 'object' && (body as { stream?: unknown }).stream === true;
    await relay(res, () =>
      streaming
        ? this.chat.stream(auth, req.headers, body, res, signal)
        : this.chat.complete(auth, req.headers, body, signal),
    );
  }

  @Post(['v1/responses', 'responses'])
  @HttpCode(200)
  async responses(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res() res: Response,
    @Body() body: unknown,
  ): Promise<void> {
    await relay(res, () => this.chat.respond(auth, req.headers, body, disconnectSignal(res)));
  }
}

/**
 * Sends the answer (a streamed one has been written already), or the upstream model's error with its status;
 * the API's own errors go to the global filter.
 */
async function relay(res: Response, work: () => Promise<unknown>): Promise<void> {
  try {
    const answer = await work();
    if (answer !== undefined && !res.headersSent) res.status(200).json(answer);
  } catch (error) {
    if (!(error instanceof ModelUpstreamError)) {
      if (!res.headersSent) throw error;
      res.end();
      return;
    }
    if (res.headersSent) {
      // Mid-stream: the error as a last event, then the end.
      res.write(`data: ${JSON.stringify({ error: error.body })}\n\n`);
      res.end();
      return;
    }
    res.status(error.status).json({
      error: {
        ...error.body,
        type: error.body.type || errorTypeForStatus(error.status),
        request_id: currentRequestId() ?? null,
      },
    });
  }
}
