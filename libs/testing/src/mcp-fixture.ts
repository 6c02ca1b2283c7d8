import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';

export interface McpFixture {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  url: string;
  /** Headers of every request the fixture received (to check what the gateway sent upstream). */
  requestHeaders: Record<string, string | string[] | undefined>[];
  close(): Promise<void>;
}

export const ECHO_TOOL: Tool = {
  name: 'echo',
  description: 'Echoes its message back',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};

export interface FixtureOptions {
  tools?: Tool[];
  name?: string;
  /**
   * Whether a request's Authorization header is let in; refused ones get 401 with a `WWW-Authenticate`
   * pointing at the protected-resource metadata (which names `authorizationServer`, when given).
   */
  authorize?: (authorization: string | undefined) => boolean;
  authorizationServer?: string;
  /** Answers tools/call (default: echoes the tool name and arguments as JSON text); `authorization`: the request's. */
  call?: (
    name: string,
    args: Record<string, unknown>,
    authorization?: string,
  ) => CallToolResult | Promise<CallToolResult>;
}

/**
 * Answers what is not the MCP endpoint's own business: the protected-resource metadata (RFC 9728) and a 401
 * for a refused Authorization header. True when it answered.
 */
function guard(req: IncomingMessage, res: ServerResponse, options: FixtureOptions, mcpPath: string): boolean {
  const base = `http://${req.headers.host}`;
  if (req.method === 'GET' && req.url === `/.well-known/oauth-protected-resource${mcpPath}`) {
    res.writeHead(options.authorizationServer ? 200 : 404, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        resource: `${base}${mcpPath}`,
        authorization_servers: [options.authorizationServer],
      }),
    );
    return true;
  }
  if (options.authorize && !options.authorize(req.headers.authorization)) {
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource${mcpPath}"`,
      })
      .end(JSON.stringify({ error: 'invalid_token' }));
    return true;
  }
  return false;
}

function fixtureServer(name: string | undefined, tools: Tool[], call?: FixtureOptions['call']): Server {
  const server = new Server({ name: name ?? 'fixture', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, (request) =>
    call ? call(request.params.name, request.params.arguments ?? {}) : echoResult(request.params),
  );
  return server;
}

function echoResult(params: { name: string; arguments?: Record<string, unknown> }): CallToolResult {
  return {
    content: [
      {
        type: 'text',
        text: JSON.stringify({ tool: params.name, arguments: params.arguments }),
      },
    ],
  };
}

async function listen(
  http: HttpServer,
  path: string,
  requestHeaders: McpFixture['requestHeaders'],
): Promise<McpFixture> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requestHeaders,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** A real upstream MCP server (official SDK, Streamable HTTP, stateless) on a random loopback port. */
export async function startMcpFixture(options: FixtureOptions = {}): Promise<McpFixture> {
  const tools = options.tools ?? [ECHO_TOOL];
  const requestHeaders: McpFixture['requestHeaders'] = [];
  const http: HttpServer = createServer((req, res) => {
    requestHeaders.push(req.headers);
    if (guard(req, res, options, '/mcp')) return;
    if (req.url !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const call = options.call;
    const server = fixtureServer(
      options.name,
      tools,
      call && ((name, args) => call(name, args, req.headers.authorization)),
    );
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.writeHead(500).end());
  });
  return listen(http, '/mcp', requestHeaders);
}

/** The same server over the legacy HTTP+SSE transport: `GET /sse` opens the stream, `POST /messages` carries requests. */
export async function startSseMcpFixture(options: FixtureOptions = {}): Promise<McpFixture> {
  const tools = options.tools ?? [ECHO_TOOL];
  const requestHeaders: McpFixture['requestHeaders'] = [];
  const sessions = new Map<string, SSEServerTransport>();
  const http: HttpServer = createServer((req, res) => {
    requestHeaders.push(req.headers);
    if (guard(req, res, options, '/sse')) return;
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      sessions.set(transport.sessionId, transport);
      res.on('close', () => sessions.delete(transport.sessionId));
      void fixtureServer(options.name, tools, options.call).connect(transport);
      return;
    }
    const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
    if (req.method === 'POST' && url.pathname === '/messages' && transport) {
      void transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  });
  return listen(http, '/sse', requestHeaders);
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
