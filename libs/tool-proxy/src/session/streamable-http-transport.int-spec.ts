import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  LATEST_PROTOCOL_VERSION,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { NodeStreamableHttpServerTransport } from './streamable-http-transport.js';

/** An SDK server behind the gateway's transport, routed by session id the way McpController does. */
async function startServer() {
  const sessions = new Map<string, NodeStreamableHttpServerTransport>();
  let release: () => void = () => undefined;
  let waiting: () => void = () => undefined;
  /** Resolves when a `wait` call has started (and holds until release()). */
  const waitStarted = () => new Promise<void>((resolve) => (waiting = resolve));
  const http: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const id = req.headers['mcp-session-id'];
        const body = chunks.length ? parseOrUndefined(Buffer.concat(chunks).toString()) : undefined;
        const existing = typeof id === 'string' ? sessions.get(id) : undefined;
        if (existing) return existing.handleRequest(req, res, body);
        if (id) return void res.writeHead(404).end();
        const transport = new NodeStreamableHttpServerTransport({
          onsessioninitialized: (sid) => void sessions.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
        const server = new Server({ name: 'under-test', version: '1.0.0' }, { capabilities: { tools: {} } });
        server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
        server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
          const token = request.params._meta?.progressToken;
          if (token !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: 1, total: 2 },
            });
          if (request.params.name === 'wait')
            await new Promise<void>((resolve) => {
              release = resolve;
              waiting();
            });
          return { content: [{ type: 'text', text: JSON.stringify(request.params.arguments ?? {}) }] };
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
      })();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    url,
    sessions,
    release: () => release(),
    waitStarted,
    close: async () => {
      for (const t of sessions.values()) await t.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const ACCEPT = 'application/json, text/event-stream';

describe('NodeStreamableHttpServerTransport', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let sessionId: string;

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(server.url, {
      method: 'POST',
      headers: {
        accept: ACCEPT,
        'content-type': 'application/json',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const call = (id: number, name: string, meta?: object) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: { id }, ...(meta ? { _meta: meta } : {}) },
  });

  beforeAll(async () => {
    server = await startServer();
    const init = await fetch(server.url, {
      method: 'POST',
      headers: { accept: ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 't', version: '1' },
        },
      }),
    });
    expect(init.status).toBe(200);
    sessionId = init.headers.get('mcp-session-id') ?? '';
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await init.json()).toMatchObject({ id: 0, result: { serverInfo: { name: 'under-test' } } });
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  });
  afterAll(() => server.close());

  it('answers a call with plain JSON when its result is the first thing to send', async () => {
    const res = await post(call(1, 'echo'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('mcp-session-id')).toBe(sessionId);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: '{"id":1}' }] },
    });
  });

  it('switches to an SSE stream when a notification comes before the result', async () => {
    const res = await post(call(2, 'echo', { progressToken: 'p' }));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^event: message\ndata: /, '')) as Record<string, unknown>);
    expect(events).toEqual([
      {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 'p', progress: 1, total: 2 },
      },
      { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: '{"id":2}' }] } },
    ]);
  });

  it('answers a batch with the answers in request order', async () => {
    const res = await post([call(3, 'echo'), call(4, 'echo')]);
    const body = (await res.json()) as { id: number }[];
    expect(body.map((b) => b.id)).toEqual([3, 4]);
  });

  it('works for the official SDK client, progress included', async () => {
    const client = new Client({ name: 'sdk', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const progress: number[] = [];
    const result = await client.callTool({ name: 'echo', arguments: { a: 1 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(result.content).toEqual([{ type: 'text', text: '{"a":1}' }]);
    expect(progress).toEqual([1]);
    await client.close();
  });

  it.each([
    ['no SSE in Accept', { accept: 'application/json' }, 406, /must accept both/],
    ['a form body', { 'content-type': 'text/plain' }, 415, /Content-Type must be application\/json/],
    [
      'an unknown protocol version',
      { 'mcp-protocol-version': '1999-01-01' },
      400,
      /Unsupported protocol version/,
    ],
  ])(
    'rejects %s with its status and a JSON-RPC error that says why',
    async (_what, headers, status, message) => {
      const res = await post(call(9, 'echo'), headers);
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(message);
    },
  );

  it('checks the session id itself too (404 for another one, 400 for none)', async () => {
    const transport = server.sessions.get(sessionId) as NodeStreamableHttpServerTransport;
    const other = await rawHandle(transport, { 'mcp-session-id': 'nope' });
    expect(other.status).toBe(404);
    expect(other.body).toMatch(/Session not found/);
    const none = await rawHandle(transport, {});
    expect(none.status).toBe(400);
    expect(none.body).toMatch(/Mcp-Session-Id header is required/);
  });

  it('rejects what is not JSON-RPC, oversized batches, and methods it does not serve', async () => {
    expect((await post('{"not":"json-rpc"}')).status).toBe(400);
    expect((await post(Array.from({ length: 101 }, (_, i) => call(100 + i, 'echo')))).status).toBe(400);
    const put = await fetch(server.url, { method: 'PUT', headers: { 'mcp-session-id': sessionId } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('keeps one standalone GET stream per session (409 for a second)', async () => {
    const controller = new AbortController();
    const first = await fetch(server.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId },
      signal: controller.signal,
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream');
    const second = await fetch(server.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId },
    });
    expect(second.status).toBe(409);
    controller.abort();
  });

  it('answers calls still in flight with an error when the session closes, then forgets the session', async () => {
    const started = server.waitStarted();
    const pending = post(call(50, 'wait'));
    await started;
    const del = await fetch(server.url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
    });
    expect(del.status).toBe(200);
    const answer = (await (await pending).json()) as { id: number; error: { message: string } };
    expect(answer).toMatchObject({ id: 50, error: { message: 'Session closed' } });
    server.release();
    expect((await post(call(51, 'echo'))).status).toBe(404);
  });
});

/** One real HTTP request straight to a session's transport, past the router (which would answer first). */
async function rawHandle(
  transport: NodeStreamableHttpServerTransport,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const http = createServer(
    (req, res) => void transport.handleRequest(req, res, { jsonrpc: '2.0', id: 9, method: 'ping' }),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, {
      method: 'POST',
      headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers },
      body: '{}',
    });
    return { status: res.status, body: await res.text() };
  } finally {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
}
