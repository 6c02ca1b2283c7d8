import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ListToolsRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { NodeStreamableHttpClientTransport } from './http-client-transport.js';

/** A real SDK server (its own Streamable HTTP transport), answering with SSE or, when asked, with JSON. */
async function startUpstream(options: { json: boolean; redirectTo?: (path: string) => string | undefined }) {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();
  const deleted: string[] = [];
  const headers: Record<string, string | string[] | undefined>[] = [];
  const http: HttpServer = createServer((req, res) => {
    const location = options.redirectTo?.(req.url ?? '/');
    if (location) return void res.writeHead(307, { location }).end();
    headers.push(req.headers);
    void (async () => {
      const id = req.headers['mcp-session-id'];
      const existing = typeof id === 'string' ? sessions.get(id) : undefined;
      if (existing) return existing.transport.handleRequest(req, res);
      if (id)
        return void res.writeHead(404).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"gone"}}');
      const server = new Server({ name: 'upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [{ name: 'echo', inputSchema: { type: 'object' } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const args = request.params.arguments ?? {};
        if (request.params.name === 'steps') {
          const token = request.params._meta?.progressToken;
          for (let i = 1; i <= 3; i++)
            if (token !== undefined)
              await extra.sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: i, total: 3 },
              });
          return { content: [{ type: 'text', text: 'done' }] };
        }
        if (request.params.name === 'ask') {
          const answer = await extra.sendRequest(
            {
              method: 'sampling/createMessage',
              params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi?' } }], maxTokens: 5 },
            },
            CreateMessageResultSchema,
          );
          return { content: [{ type: 'text', text: `model said ${JSON.stringify(answer.content)}` }] };
        }
        return { content: [{ type: 'text', text: JSON.stringify(args) }] };
      });
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: options.json,
        onsessioninitialized: (sid) => void sessions.set(sid, { transport, server }),
        onsessionclosed: (sid) => void deleted.push(sid),
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  return {
    url,
    sessions,
    deleted,
    headers,
    async close() {
      for (const { server } of sessions.values()) await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function connect(url: URL, headers: Record<string, string> = {}) {
  const transport = new NodeStreamableHttpClientTransport(url, headers);
  const client = new Client({ name: 'test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: 'assistant',
    model: 'fake',
    content: { type: 'text', text: 'hello' },
  }));
  await client.connect(transport);
  return { client, transport };
}

const text = (result: unknown) =>
  ((result as { content: { type: string; text: string }[] }).content[0] ?? { text: '' }).text;

describe.each([
  ['SSE answers', false],
  ['JSON answers', true],
])('NodeStreamableHttpClientTransport against the SDK server (%s)', (_label, json) => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  beforeEach(async () => {
    upstream = await startUpstream({ json });
  });
  afterEach(() => upstream.close());

  it('initializes, keeps the session id and protocol version, and calls tools', async () => {
    const { client, transport } = await connect(upstream.url, { 'X-API-Key': 'k1' });
    expect(transport.sessionId).toBeDefined();
    expect(client.getServerVersion()?.name).toBe('upstream');
    const result = await client.callTool({ name: 'echo', arguments: { n: 42 } });
    expect(text(result)).toBe('{"n":42}');
    const last = upstream.headers[upstream.headers.length - 1];
    expect(last['mcp-session-id']).toBe(transport.sessionId);
    expect(last['mcp-protocol-version']).toBeDefined();
    expect(last['x-api-key']).toBe('k1');
    await client.close();
  });

  it('keeps concurrent answers apart', async () => {
    const { client } = await connect(upstream.url);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.callTool({ name: 'echo', arguments: { i } })),
    );
    results.forEach((result, i) => expect(text(result)).toBe(JSON.stringify({ i })));
    await client.close();
  });

  it('ends the session with DELETE', async () => {
    const { client, transport } = await connect(upstream.url);
    const id = transport.sessionId;
    await transport.terminateSession();
    expect(upstream.deleted).toEqual([id]);
    await client.close();
  });

  it('closes when the server no longer knows the session (it restarted), so the owner can reconnect', async () => {
    const { client, transport } = await connect(upstream.url);
    const closed = new Promise<void>((resolve) => (client.onclose = resolve));
    upstream.sessions.delete(transport.sessionId ?? '');
    // The call's POST or the event stream's GET (whichever reaches the server first) learns it with a 404.
    await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow(
      /HTTP 404|no longer knows this session|Connection closed/,
    );
    await closed;
    expect(transport.sessionLost).toBe(true);
  });

  it('fails a call at once when the server cannot be reached', async () => {
    const { client } = await connect(upstream.url);
    await upstream.close();
    await expect(
      client.callTool({ name: 'echo', arguments: {} }, undefined, { timeout: 30_000 }),
    ).rejects.toThrow(/ECONNREFUSED|socket hang up|closed/);
    upstream = await startUpstream({ json });
  });
});

describe('NodeStreamableHttpClientTransport, SSE-only behaviour', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  beforeEach(async () => {
    upstream = await startUpstream({ json: false });
  });
  afterEach(() => upstream.close());

  it('answers the server requests a call makes (sampling; the SDK server drops them in JSON mode)', async () => {
    const { client } = await connect(upstream.url);
    const result = await client.callTool({ name: 'ask', arguments: {} });
    expect(text(result)).toContain('hello');
    await client.close();
  });

  it('delivers progress notifications before the result of their call', async () => {
    const { client } = await connect(upstream.url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'steps', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(text(result)).toBe('done');
    expect(progress).toEqual([1, 2, 3]);
    await client.close();
  });

  it('receives what the server sends on its own over the standalone GET stream', async () => {
    const { client, transport } = await connect(upstream.url);
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    const session = upstream.sessions.get(transport.sessionId ?? '');
    // The GET stream opens right after initialization; send until it is there to carry the notification.
    let done = false;
    void changed.then(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) {
      await session?.server.sendToolListChanged();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await changed;
    await client.close();
  });
});

describe('NodeStreamableHttpClientTransport and redirects', () => {
  it('follows a same-origin 307 (a server mounted at /mcp/ that redirects /mcp), for every request', async () => {
    const upstream = await startUpstream({
      json: false,
      redirectTo: (p) => (p === '/mcp' ? '/mcp/' : undefined),
    });
    try {
      const { client } = await connect(upstream.url);
      expect(text(await client.callTool({ name: 'echo', arguments: { r: 1 } }))).toBe('{"r":1}');
      await client.close();
    } finally {
      await upstream.close();
    }
  });

  it('does not follow a redirect to another origin: the request fails with its status', async () => {
    const upstream = await startUpstream({
      json: false,
      redirectTo: () => 'http://elsewhere.invalid/mcp',
    });
    try {
      const transport = new NodeStreamableHttpClientTransport(upstream.url);
      const client = new Client({ name: 'test', version: '1.0.0' });
      await expect(client.connect(transport)).rejects.toThrow(/HTTP 307/);
    } finally {
      await upstream.close();
    }
  });
});

describe('NodeStreamableHttpClientTransport and a stream that ends before its answer', () => {
  it('fails the call at once (no event ids to resume from) instead of leaving it to its timeout', async () => {
    // A bare server: initialize in JSON, notifications accepted, no GET stream, and tools/call answered with
    // an event stream that ends with nothing in it.
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.method === 'GET') return void res.writeHead(405).end();
        const message = JSON.parse(body) as { id?: number; method: string };
        if (message.id === undefined) return void res.writeHead(202).end();
        if (message.method === 'initialize')
          return void res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              id: message.id,
              result: {
                protocolVersion: '2025-06-18',
                capabilities: { tools: {} },
                serverInfo: { name: 'bare', version: '1' },
              },
            }),
          );
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
      const client = new Client({ name: 'test', version: '1.0.0' });
      await client.connect(new NodeStreamableHttpClientTransport(url));
      const started = Date.now();
      await expect(
        client.callTool({ name: 'echo', arguments: {} }, undefined, { timeout: 30_000 }),
      ).rejects.toThrow(/closed the stream before answering/);
      expect(Date.now() - started).toBeLessThan(5_000);
      await client.close();
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('NodeStreamableHttpClientTransport and a server without sessions', () => {
  it('stays open when the server has no event stream (GET answered 404): nothing was lost', async () => {
    // A stateless server (no session id) mounted on POST only, as an Express app answers a GET it has no route for.
    let getRefused!: () => void;
    const refused = new Promise<void>((resolve) => (getRefused = resolve));
    const http = createServer((req, res) => {
      if (req.method !== 'POST') {
        res.on('finish', getRefused);
        return void res.writeHead(404).end('Cannot GET /mcp');
      }
      void (async () => {
        const server = new Server({ name: 'stateless', version: '1.0.0' }, { capabilities: { tools: {} } });
        server.setRequestHandler(CallToolRequestSchema, () => ({ content: [{ type: 'text', text: 'ok' }] }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        await server.connect(transport);
        await transport.handleRequest(req, res);
      })();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
      const transport = new NodeStreamableHttpClientTransport(url);
      const client = new Client({ name: 'test', version: '1.0.0' });
      let closed = false;
      client.onclose = () => (closed = true);
      await client.connect(transport);
      // The standalone GET went out after `initialized` and was refused; the session is as good as before:
      // calls made after the refusal work, and the connection is still open after them.
      await refused;
      for (let i = 0; i < 2; i++)
        await expect(client.callTool({ name: 'echo', arguments: {} })).resolves.toMatchObject({
          content: [{ type: 'text', text: 'ok' }],
        });
      expect(closed).toBe(false);
      expect(transport.sessionLost).toBe(false);
      await client.close();
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
