import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { type AuthContext, extractApiKey, KeyAuthenticator } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { runWithRequestContext } from '@app/core';
import { JSON_BODY_LIMIT_BYTES, startRequest } from '@app/http';
import type { GatewaySession } from './gateway-session.js';
import { SSE_MESSAGES_PATH } from './mcp.controller.js';
import { checkOrigin } from './origin-check.js';
import { McpSessionManager } from './session-manager.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The fast lane for the gateway's hottest request: a JSON-RPC POST of an open session, by the key that opened
 * it (Streamable HTTP: on the path the session was opened on; legacy SSE: its message endpoint). Express and Nest routing cost 0.35 to 0.5 ms of
 * CPU per request on the benchmark machine, a third of a proxied tool call (docs/BENCHMARKS.md); this lane
 * runs the same checks without them: the same key authenticator (expiry, blocks, team blocks), the session's
 * key binding, the DNS-rebinding check, the body limit, the same request id and access line. Every other
 * request, and any request that fails one of those checks, goes through the full pipeline, which answers it
 * as it always did (so errors keep their one shape and status).
 */
@Injectable()
export class McpFastLane implements OnApplicationBootstrap {
  private readonly logger = new Logger('Gateway');
  /** Requests this lane served (the rest went through the full pipeline); for tests and the sessions view. */
  served = 0;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly sessions: McpSessionManager,
    private readonly authenticator: KeyAuthenticator,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Puts the lane in front of Express on the HTTP server Nest created. */
  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    const express = server.listeners('request') as Listener[];
    server.removeAllListeners('request');
    const full: Listener = (req, res) => {
      for (const listener of express) listener.call(server, req, res);
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const session = this.candidate(req);
      if (session) void this.serve(session, req, res, full);
      else full(req, res);
    });
  }

  /** The session a request belongs to when everything the headers can tell says it may take the lane. */
  private candidate(req: IncomingMessage): GatewaySession | null {
    if (req.method !== 'POST') return null;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    let session: GatewaySession | undefined;
    if (path === SSE_MESSAGES_PATH) {
      // A message of a legacy SSE session (`?sessionId=`).
      const id = new URLSearchParams(url.slice(query + 1)).get('sessionId');
      session = id ? this.sessions.get(id) : undefined;
      if (!(session?.transport instanceof SSEServerTransport)) return null;
    } else {
      const id = req.headers['mcp-session-id'];
      session = typeof id === 'string' ? this.sessions.get(id) : undefined;
      if (!(session?.transport instanceof NodeStreamableHttpServerTransport) || path !== session.path)
        return null;
    }
    if (session.closed) return null;
    const type = req.headers['content-type'] ?? '';
    if (type.split(';')[0].trim().toLowerCase() !== 'application/json') return null;
    const length = Number(req.headers['content-length']);
    if (!Number.isInteger(length) || length <= 0 || length > JSON_BODY_LIMIT_BYTES) return null;
    return session;
  }

  private async serve(
    session: GatewaySession,
    req: IncomingMessage,
    res: ServerResponse,
    full: Listener,
  ): Promise<void> {
    let auth: AuthContext;
    try {
      checkOrigin(
        { origin: req.headers.origin, host: req.headers.host },
        { allowedOrigins: this.config.mcp.allowedOrigins, listenHost: this.config.server.host },
      );
      const key = extractApiKey(req.headersDistinct);
      if (key === null) return full(req, res);
      auth = await this.authenticator.authenticate(key);
    } catch {
      // Refused: the full pipeline refuses it again and answers with the usual error.
      return full(req, res);
    }
    if (auth.keyId !== session.keyId || session.closed) return full(req, res);
    this.served++;
    const requestId = startRequest(req, res, session.path);
    await runWithRequestContext({ requestId }, async () => {
      try {
        const body = await readBody(req);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              error: { code: -32700, message: 'Parse error: Invalid JSON' },
              id: null,
            }),
          );
          return;
        }
        session.scope = { ...session.scope, auth };
        session.lastActivity = Date.now();
        const { transport } = session;
        if (transport instanceof SSEServerTransport) await transport.handlePostMessage(req, res, parsed);
        else await (transport as NodeStreamableHttpServerTransport).handleRequest(req, res, parsed);
      } catch (error) {
        this.logger.error({
          msg: 'MCP request failed',
          error: error instanceof Error ? error.message : String(error),
        });
        if (!res.headersSent)
          res.writeHead(500, { 'Content-Type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              error: { code: -32603, message: 'Internal error' },
              id: null,
            }),
          );
        else res.end();
      }
    });
  }
}

/** The request body as text (its length was checked against the limit from Content-Length). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
