import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';

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

/** A real upstream MCP server (official SDK, Streamable HTTP, stateless) on a random loopback port. */
export async function startMcpFixture(options: { tools?: Tool[]; name?: string } = {}): Promise<McpFixture> {
  const tools = options.tools ?? [ECHO_TOOL];
  const requestHeaders: McpFixture['requestHeaders'] = [];
  const http: HttpServer = createServer((req, res) => {
    requestHeaders.push(req.headers);
    if (req.url !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const server = new Server(
      { name: options.name ?? 'fixture', version: '1.0.0' },
      { capabilities: { tools: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, (request) => ({
      content: [
        {
          type: 'text',
          text: JSON.stringify({ tool: request.params.name, arguments: request.params.arguments }),
        },
      ],
    }));
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
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requestHeaders,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
