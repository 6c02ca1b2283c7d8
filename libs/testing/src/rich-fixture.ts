import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { waitFor } from './wait-for.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';

export const LONG_TOOL_NAME = 'summarise_the_entire_quarterly_report_with_all_of_its_appendices_included';

/**
 * Tools, resources and prompts of the stateful fixtures (each instance named, so a test sees which upstream
 * answered): `echo` returns `{name}:{message}`, `counter` counts calls in this upstream session (isolation
 * and reuse are visible), `sleep` waits `ms`, and one tool has a name too long for LLM providers.
 */
export function richServer(name: string, stats: RichStats, extraTools: readonly string[] = []): Server {
  const server = new Server(
    { name: `rich-${name}`, version: '1.0.0' },
    { capabilities: { tools: {}, resources: {}, prompts: {} }, instructions: `Use ${name} for testing.` },
  );
  let counter = 0;
  stats.sessions++;
  const tools: Tool[] = [
    {
      name: 'echo',
      description: `echo from ${name}`,
      inputSchema: { type: 'object', properties: { message: { type: 'string' } } },
    },
    {
      name: 'counter',
      description: 'counts calls in this upstream session',
      inputSchema: { type: 'object' },
    },
    {
      name: 'sleep',
      description: 'waits ms milliseconds',
      inputSchema: { type: 'object', properties: { ms: { type: 'number' } } },
    },
    { name: LONG_TOOL_NAME, description: 'a long name', inputSchema: { type: 'object' } },
    ...extraTools.map((tool) => ({
      name: tool,
      description: 'added later',
      inputSchema: { type: 'object' as const },
    })),
  ];
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    if (extraTools.includes(request.params.name))
      return { content: [{ type: 'text', text: `${request.params.name}:${name}` }] };
    switch (request.params.name) {
      case 'echo':
        return { content: [{ type: 'text', text: `${name}:${String(args.message)}` }] };
      case 'counter':
        counter++;
        return { content: [{ type: 'text', text: String(counter) }] };
      case 'sleep':
        stats.sleeping++;
        stats.awake++;
        stats.peak = Math.max(stats.peak, stats.awake);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Number(args.ms ?? 0));
          extra.signal.addEventListener('abort', () => {
            stats.cancelled++;
            clearTimeout(timer);
            resolve();
          });
        });
        stats.awake--;
        return { content: [{ type: 'text', text: 'slept' }] };
      case LONG_TOOL_NAME:
        return { content: [{ type: 'text', text: `long:${name}` }] };
      default:
        return { isError: true, content: [{ type: 'text', text: `no tool ${request.params.name}` }] };
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{ uri: `fixture://${name}/readme`, name: `${name} readme`, mimeType: 'text/plain' }],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: `fixture://${name}/items/{id}`, name: `${name} items` }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => ({
    contents: [
      { uri: request.params.uri, mimeType: 'text/plain', text: `${name} says: ${request.params.uri}` },
    ],
  }));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: [{ name: 'greet', description: 'greets someone', arguments: [{ name: 'who', required: true }] }],
  }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => ({
    messages: [
      {
        role: 'user',
        content: { type: 'text', text: `${name} greets ${request.params.arguments?.who ?? 'nobody'}` },
      },
    ],
  }));
  return server;
}

export interface RichStats {
  /** Upstream sessions opened so far (one per `initialize`). */
  sessions: number;
  /** Upstream sessions the client ended with DELETE. */
  ended: number;
  /** `sleep` calls started. */
  sleeping: number;
  /** `sleep` calls the client cancelled (the upstream saw `notifications/cancelled`). */
  cancelled: number;
  /** `sleep` calls running now, and the most that ever ran at once. */
  awake: number;
  peak: number;
}

export interface RichFixture {
  url: string;
  stats: RichStats;
  requestHeaders: IncomingMessage['headers'][];
  /** Forgets every Streamable HTTP session, as a restarted server would (their ids now get 404). */
  forgetSessions(): void;
  /** Stops listening, drops every connection and session, and listens again on the same port: a restart. */
  restart(): Promise<void>;
  /** Resolves once `probe(stats)` holds (checked at every change of a counter); rejects after `ms`. */
  until(what: string, probe: (stats: RichStats) => boolean, ms?: number): Promise<void>;
  /** Sessions opened from now on also offer this tool (say, a new version deployed by a restart). */
  addTool(name: string): void;
  close(): Promise<void>;
}

/** A stateful upstream (one MCP session per client, like most real servers) over Streamable HTTP or SSE. */
export async function startRichFixture(name: string, transport: 'http' | 'sse'): Promise<RichFixture> {
  // Every change of a counter is an event, so tests wait for it instead of polling.
  const events = new EventEmitter();
  const stats = new Proxy<RichStats>(
    { sessions: 0, ended: 0, sleeping: 0, cancelled: 0, awake: 0, peak: 0 },
    {
      set(target, key, value: number) {
        target[key as keyof RichStats] = value;
        events.emit('change');
        return true;
      },
    },
  );
  const extraTools: string[] = [];
  const requestHeaders: IncomingMessage['headers'][] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  const http: HttpServer = createServer((req, res) => {
    requestHeaders.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (transport === 'sse') {
      if (req.method === 'GET' && url.pathname === '/sse') {
        const t = new SSEServerTransport('/messages', res);
        sse.set(t.sessionId, t);
        res.on('close', () => sse.delete(t.sessionId));
        void richServer(name, stats, extraTools).connect(t);
        return;
      }
      const t = sse.get(url.searchParams.get('sessionId') ?? '');
      if (req.method === 'POST' && url.pathname === '/messages' && t)
        return void t.handlePostMessage(req, res);
      return void res.writeHead(404).end();
    }
    if (url.pathname !== '/mcp') return void res.writeHead(404).end();
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? streamable.get(id) : undefined;
    if (existing) return void existing.handleRequest(req, res);
    const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid: string): void => {
        streamable.set(sid, t);
      },
      onsessionclosed: (): void => {
        stats.ended++;
      },
    });
    t.onclose = () => {
      if (t.sessionId) streamable.delete(t.sessionId);
    };
    void richServer(name, stats, extraTools)
      .connect(t)
      .then(() => t.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${transport === 'sse' ? '/sse' : '/mcp'}`,
    stats,
    until: (what, probe, ms) => waitFor(events, 'change', () => probe(stats), what, ms),
    requestHeaders,
    forgetSessions: () => streamable.clear(),
    addTool: (tool) => void extraTools.push(tool),
    restart: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      streamable.clear();
      sse.clear();
      await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
