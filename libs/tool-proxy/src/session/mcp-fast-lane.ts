import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { runWithRequestContext } from '@app/core';
import { JSON_BODY_LIMIT_BYTES, startRequest } from '@app/http';
import type { CallerScope } from '../catalog/view.types.js';
import type { GatewaySession } from './gateway-session.js';
import { ModernEndpoint } from './modern-endpoint.js';
import { jsonRpcError, SessionDoor, SSE_MESSAGES_PATH } from './session-door.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The fast lane for the gateway's hottest request: a JSON-RPC POST of an open session, by the key that opened
 * it (Streamable HTTP: on the path the session was opened on; legacy SSE: its message endpoint). Express and
 * Nest routing cost 0.35 to 0.5 ms of CPU per request on the benchmark machine, a third of a proxied tool call
 * (docs/BENCHMARKS.md). The lane has no checks of its own: it asks the SessionDoor, as the Nest routes do, to
 * find the session, authenticate the key and admit it; besides it only applies the body limit and writes the
 * same request id and access line. Any request the door refuses goes through the full pipeline, which answers
 * it as it always did (so errors keep their one shape and status).
 */
@Injectable()
export class McpFastLane implements OnApplicationBootstrap {
  private readonly logger = new Logger('Gateway');
  /** Requests this lane served (the rest went through the full pipeline); for tests and the sessions view. */
  served = 0;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly door: SessionDoor,
    private readonly modern: ModernEndpoint,
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
      else if (this.modernCandidate(req)) void this.serveModern(req, res, full);
      else full(req, res);
    });
  }

  /**
   * A 2026-07-28 request on the aggregated endpoint (no session, that revision's header, a JSON body within the
   * limit): stateless, so each one would otherwise take the full pipeline.
   */
  private modernCandidate(req: IncomingMessage): boolean {
    if (req.method !== 'POST' || req.headers['mcp-session-id'] !== undefined) return false;
    if (req.headers['mcp-protocol-version'] !== MODERN_VERSION) return false;
    const url = req.url ?? '';
    if (url !== '/mcp' && url !== '/mcp/') return false;
    return jsonWithinLimit(req);
  }

  /** Like `serve`, for a 2026-07-28 request: the door's checks, then the modern endpoint; refusals go the full way. */
  private async serveModern(req: IncomingMessage, res: ServerResponse, full: Listener): Promise<void> {
    let scope: CallerScope;
    try {
      const auth = await this.door.authenticate(req);
      if (!auth) return full(req, res);
      scope = this.door.admitModern(auth, req.headers);
    } catch {
      return full(req, res);
    }
    await this.run(req, res, '/mcp', (parsed) => this.modern.serve(scope, req, res, parsed));
  }

  /** The session a request belongs to when everything its headers can tell says it may take the lane. */
  private candidate(req: IncomingMessage): GatewaySession | null {
    if (req.method !== 'POST') return null;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const session =
      path === SSE_MESSAGES_PATH
        ? this.door.findSse(new URLSearchParams(url.slice(query + 1)).get('sessionId'))
        : this.door.find(req, path);
    if (!session || session.closed) return null;
    return jsonWithinLimit(req) ? session : null;
  }

  private async serve(
    session: GatewaySession,
    req: IncomingMessage,
    res: ServerResponse,
    full: Listener,
  ): Promise<void> {
    // The door's own checks; any refusal goes to the full pipeline, which refuses it again with the usual answer.
    let admitted: boolean;
    try {
      const auth = await this.door.authenticate(req);
      admitted = auth !== null && this.door.admit(session, auth, req.headers);
    } catch {
      admitted = false;
    }
    if (!admitted) return full(req, res);
    await this.run(req, res, session.path, (parsed) => this.door.serve(session, req, res, parsed));
  }

  /** An admitted request, served: its request id and access line, its JSON body parsed, failures answered. */
  private async run(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    handle: (body: unknown) => Promise<void>,
  ): Promise<void> {
    this.served++;
    await runWithRequestContext(startRequest(req, res, path), async () => {
      try {
        let parsed: unknown;
        try {
          parsed = JSON.parse(await readBody(req));
        } catch {
          return jsonRpcError(res, 400, -32700, 'Parse error: Invalid JSON');
        }
        await handle(parsed);
      } catch (error) {
        this.failed(res, error);
      }
    });
  }

  private failed(res: ServerResponse, error: unknown): void {
    this.logger.error({
      msg: 'MCP request failed',
      error: error instanceof Error ? error.message : String(error),
    });
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal error');
    else res.end();
  }
}

/** The revision whose requests the lane takes without a session. */
const MODERN_VERSION = '2026-07-28';

/** A JSON body (Content-Type) whose Content-Length is within the body limit. */
function jsonWithinLimit(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  if (type.split(';')[0].trim().toLowerCase() !== 'application/json') return false;
  const length = Number(req.headers['content-length']);
  return Number.isInteger(length) && length > 0 && length <= JSON_BODY_LIMIT_BYTES;
}

/** The request body as text (its length was checked against the limit from Content-Length). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
