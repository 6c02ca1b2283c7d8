import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ResourceUpdatedNotificationSchema,
  SubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  closedPort,
  createTestApp,
  eventually,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type StatefulUpstream,
  startStatefulUpstream,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { callOpenAiTool, loadMcpTools } from '@app/openai-bridge';
import { McpFastLane, McpSessionManager } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 19: MCP 2026-07-28 clients (official SDK v2) on the same endpoints as 2025-11-25 ones (SDK v1): served
 * statelessly (no initialize, no session, the key checked on every request), from the same view and call path.
 */
const MASTER_KEY = 'sk-master-e2e-2026';
const auth = { Authorization: `Bearer ${MASTER_KEY}` };
const WATCHED = 'test://watched';

describe('MCP 2026-07-28 through the gateway (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let web: RichFixture;
  let notifying: StatefulUpstream;

  beforeAll(async () => {
    web = await startRichFixture('web', 'http');
    notifying = await startStatefulUpstream(() => {
      const server = new Server(
        { name: 'notifying', version: '1.0.0' },
        { capabilities: { tools: {}, resources: { subscribe: true } } },
      );
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [{ name: 'poke', inputSchema: { type: 'object' } }],
      }));
      server.setRequestHandler(ListResourcesRequestSchema, () => ({
        resources: [{ uri: WATCHED, name: 'watched' }],
      }));
      server.setRequestHandler(SubscribeRequestSchema, () => ({}));
      server.setRequestHandler(CallToolRequestSchema, async (_request, extra) => {
        await extra.sendNotification({ method: 'notifications/resources/updated', params: { uri: WATCHED } });
        return { content: [{ type: 'text', text: 'poked' }] };
      });
      return server;
    });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${web.url}
  notifying:
    url: ${notifying.url}
  down:
    url: http://127.0.0.1:${await closedPort()}/mcp
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await web?.close();
    await notifying?.close();
  });

  const modern = async (path = '/mcp', headers: Record<string, string> = auth) => {
    const client = new ModernClient(
      { name: 'modern-e2e', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new ModernTransport(new URL(`${t.url}${path}`), { requestInit: { headers } }));
    return client;
  };

  it('serves a pinned 2026-07-28 client: discover, list, call, with no session (on the fast lane)', async () => {
    const lane = t.app.get(McpFastLane);
    const before = lane.served;
    const client = await modern();
    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name)).toContain('web-echo');
    const result = await client.callTool({ name: 'web-echo', arguments: { message: 'hello 2026' } });
    expect(result.content).toEqual([{ type: 'text', text: 'web:hello 2026' }]);
    // discover, tools/list and tools/call, none through the full pipeline.
    expect(lane.served - before).toBeGreaterThanOrEqual(3);
    await client.close();
  });

  /** One raw 2026-07-28 request (envelope in `_meta`, standard headers), as a client without the SDK sends it. */
  const raw = (
    method: string,
    params: Record<string, unknown> = {},
    {
      version = '2026-07-28',
      path = '/mcp',
      headers = auth,
    }: { version?: string; path?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': version,
        'Mcp-Method': method,
        ...(typeof params.name === 'string' ? { 'Mcp-Name': params.name } : {}),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method,
        params: {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': version,
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });

  it('answers server/discover with the aggregated capabilities and instructions, and -32022 naming the supported versions', async () => {
    const discover = (await (await raw('server/discover')).json()) as {
      result: { supportedVersions: string[]; capabilities: Record<string, unknown>; instructions: string };
    };
    expect(discover.result.supportedVersions).toContain('2026-07-28');
    expect(Object.keys(discover.result.capabilities)).toEqual(
      expect.arrayContaining(['tools', 'resources', 'prompts']),
    );
    expect(discover.result.instructions).toContain('## web');
    const refused = await raw('tools/list', {}, { version: '2099-01-01' });
    const body = (await refused.json()) as { error: { code: number; data: { supported: string[] } } };
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toContain('2026-07-28');
  });

  it('marks lists private to the key, cacheable for mcp_list_ttl_seconds, and not at all when a server is missing', async () => {
    const list = async (path: string) =>
      ((await (await raw('tools/list', {}, { path })).json()) as { result: Record<string, unknown> }).result;
    expect(await list('/mcp/web')).toMatchObject({ ttlMs: 60_000, cacheScope: 'private' });
    // `down` cannot be listed: the list says so, and is not to be cached.
    const partial = await list('/mcp/web,down');
    expect(partial).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
    expect(JSON.stringify(partial._meta)).toContain('down');
  });

  it('checks the key on every request: none is 401, a blocked one 403, and a key sees only its servers', async () => {
    expect((await raw('tools/list', {}, { headers: {} })).status).toBe(401);
    const generate = async (body: Record<string, unknown>) =>
      (
        (await (
          await fetch(`${t.url}/key/generate`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json()) as { key: string }
      ).key;
    const none = await generate({ key_alias: 'no-servers-2026' });
    expect((await raw('tools/list', {}, { headers: { Authorization: `Bearer ${none}` } })).status).toBe(403);
    const key = await generate({ key_alias: 'web-2026', object_permission: { mcp_servers: ['web'] } });
    const asKey = { headers: { Authorization: `Bearer ${key}` } };
    const call = await raw('tools/call', { name: 'web-echo', arguments: { message: 'granted' } }, asKey);
    expect(((await call.json()) as { result: { content: unknown } }).result.content).toEqual([
      { type: 'text', text: 'web:granted' },
    ]);
    await fetch(`${t.url}/key/block`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'web-2026' }),
    });
    expect((await raw('tools/list', {}, asKey)).status).toBe(403);
  });

  it('serves one server unprefixed on /{alias}/mcp, and refuses an unknown tool with -32602', async () => {
    const list = (await (await raw('tools/list', {}, { path: '/web/mcp' })).json()) as {
      result: { tools: { name: string }[] };
    };
    expect(list.result.tools.map((tool) => tool.name)).toContain('echo');
    const unknown = (await (await raw('tools/call', { name: 'nope', arguments: {} })).json()) as {
      error: { code: number; message: string };
    };
    expect(unknown.error.code).toBe(-32602);
    expect(unknown.error.message).toContain('unknown tool');
  });

  it('answers hostile 2026-07-28 bodies with a 4xx or a JSON-RPC error, never a 5xx', async () => {
    const envelope =
      '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}';
    const bodies = {
      'deep arguments': `{"name":"web-echo","arguments":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)},${envelope}}`,
      'arguments not an object': `{"name":"web-echo","arguments":"text",${envelope}}`,
      'a number for a name': `{"name":42,${envelope}}`,
      'a NUL in the name': `{"name":"web-echo\u0000",${envelope}}`,
      // A requestState the gateway did not seal, in every shape: refused, never run as a fresh call.
      'a number for requestState': `{"name":"web-echo","arguments":{"message":"x"},"requestState":42,${envelope}}`,
      'an object for requestState': `{"name":"web-echo","arguments":{"message":"x"},"requestState":{"a":1},${envelope}}`,
      'a huge requestState': `{"name":"web-echo","arguments":{"message":"x"},"requestState":"${'A'.repeat(200_000)}",${envelope}}`,
      'a forged gw1 requestState': `{"name":"web-echo","arguments":{"message":"x"},"requestState":"gw1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","inputResponses":[1,2],${envelope}}`,
      'inputResponses not an object': `{"name":"web-echo","arguments":{"message":"x"},"requestState":"gw1.x","inputResponses":"yes",${envelope}}`,
    };
    for (const [what, params] of Object.entries(bodies)) {
      const res = await fetch(`${t.url}/mcp`, {
        method: 'POST',
        headers: {
          ...auth,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'MCP-Protocol-Version': '2026-07-28',
          'Mcp-Method': 'tools/call',
        },
        body: `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":${params}}`,
      });
      const text = await res.text();
      expect([what, res.status < 500, text]).toEqual([what, true, expect.stringContaining('"error"')]);
    }
  });

  it('works with the OpenAI bridge on an SDK v2 client as on an SDK v1 one', async () => {
    const client = await modern();
    const tools = await loadMcpTools(client, { format: 'openai' });
    expect(tools.map((tool) => tool.function.name)).toContain('web-echo');
    const result = await callOpenAiTool(client, {
      id: 'call_1',
      function: { name: 'web-echo', arguments: '{"message":"bridged"}' },
    });
    expect(result.content).toEqual([{ type: 'text', text: 'web:bridged' }]);
    await client.close();
  });

  it("chooses 2026-07-28 for an SDK v2 client in versionNegotiation 'auto' mode", async () => {
    const client = new ModernClient(
      { name: 'auto-e2e', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    await client.connect(new ModernTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: auth } }));
    expect(client.getDiscoverResult()?.supportedVersions).toContain('2026-07-28');
    const result = await client.callTool({ name: 'web-echo', arguments: { message: 'auto' } });
    expect(result.content).toEqual([{ type: 'text', text: 'web:auto' }]);
    await client.close();
  });

  it('delivers resource updates on subscriptions/listen for URIs of the key, and refuses other URIs', async () => {
    const client = await modern();
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      updates.push(notification.params.uri);
    });
    const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([WATCHED]);
    await client.callTool({ name: 'notifying-poke', arguments: {} });
    await eventually('the update on the listen stream', () => Promise.resolve(updates.length > 0), 5000);
    expect(updates[0]).toBe(WATCHED);
    await subscription.close();
    await expect(client.listen({ resourceSubscriptions: ['test://not-listed'] })).rejects.toThrow(
      /not permitted resource URI/,
    );
    await client.close();
    // A key without the server that owns the URI may not listen to it.
    const generated = await fetch(`${t.url}/key/generate`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_alias: 'web-only-listen', object_permission: { mcp_servers: ['web'] } }),
    });
    const key = ((await generated.json()) as { key: string }).key;
    const webOnly = await modern('/mcp', { Authorization: `Bearer ${key}` });
    await expect(webOnly.listen({ resourceSubscriptions: [WATCHED] })).rejects.toThrow(
      /not permitted resource URI/,
    );
    await webOnly.close();

    // Nor may a 2025 session of that key (it subscribes, its URI routed to its only server with resources):
    // an update of the notifying server, raised on the shared connection, must not reach it.
    const legacyTransport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    });
    const legacy = new Client({ name: 'legacy-listen', version: '1.0.0' });
    await legacy.connect(legacyTransport);
    const leaked: string[] = [];
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void leaked.push(n.params.uri));
    await legacy.subscribeResource({ uri: WATCHED }).catch(() => undefined);
    const session = t.app.get(McpSessionManager).get(legacyTransport.sessionId as string);
    expect(session?.subscriptions.has(WATCHED)).toBe(true);
    await eventually(
      'the legacy GET stream open',
      () => Promise.resolve((session?.transport as { hasStream?: boolean }).hasStream === true),
      5000,
    );
    const watcher = await modern();
    const seen: string[] = [];
    watcher.setNotificationHandler('notifications/resources/updated', (n) => void seen.push(n.params.uri));
    const listening = await watcher.listen({ resourceSubscriptions: [WATCHED] });
    await watcher.callTool({ name: 'notifying-poke', arguments: {} });
    await eventually('the update for the key that may see it', () => Promise.resolve(seen.length > 0), 5000);
    // The legacy stream is written in the same turn as the listen stream's: a round trip later it has arrived.
    await legacy.ping();
    expect(leaked).toEqual([]);
    await listening.close();
    await watcher.close();
    await legacy.close();
  });

  it('serves a 2025-11-25 client (SDK v1) and a 2026-07-28 client (SDK v2) on /mcp at the same time', async () => {
    const old = new Client({ name: 'legacy-e2e', version: '1.0.0' });
    await old.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: auth } }),
    );
    const client = await modern();
    const [a, b] = await Promise.all([
      old.callTool({ name: 'web-echo', arguments: { message: 'old' } }),
      client.callTool({ name: 'web-echo', arguments: { message: 'new' } }),
    ]);
    expect(a.content).toEqual([{ type: 'text', text: 'web:old' }]);
    expect(b.content).toEqual([{ type: 'text', text: 'web:new' }]);
    await old.close();
    await client.close();
  });
});
