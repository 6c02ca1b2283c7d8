import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  createTestApp,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { McpSessionManager } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

const MASTER_KEY = 'sk-master-e2e-limits';

describe('MCP session limits (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: RichFixture;

  beforeAll(async () => {
    upstream = await startRichFixture('web', 'http');
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${upstream.url}
general_settings:
  max_sessions_per_key: 2
  session_idle_timeout: 10
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await upstream?.close();
  });

  const open = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${MASTER_KEY}` } },
    });
    const client = new Client({ name: 'limits', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  };

  it('refuses a session past max_sessions_per_key with 429 saying what to do, and admits one after a close', async () => {
    const first = await open();
    const second = await open();
    const res = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${MASTER_KEY}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('TOO_MANY_SESSIONS');
    expect(body.error.message).toContain('max_sessions_per_key is 2');
    await first.transport.terminateSession();
    await first.client.close();
    const third = await open();
    expect((await third.client.listTools()).tools.length).toBeGreaterThan(0);
    expect(t.app.get(McpSessionManager).stats().client_sessions).toBe(2);
    await Promise.all([second, third].map(async (s) => s.transport.terminateSession()));
    expect(t.app.get(McpSessionManager).stats().client_sessions).toBe(0);
    await Promise.all([second, third].map((s) => s.client.close()));
  });

  it('closes idle sessions after session_idle_timeout, with their upstream sessions', async () => {
    const manager = t.app.get(McpSessionManager);
    const idle = await open();
    await idle.client.callTool({ name: 'web-counter' });
    expect(manager.stats()).toMatchObject({ client_sessions: 1, client_connections: 1 });
    const deadline = Date.now() + 20_000;
    while (manager.stats().client_sessions > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
    expect(manager.stats()).toMatchObject({ client_sessions: 0, client_connections: 0 });
    await expect(idle.client.callTool({ name: 'web-counter' })).rejects.toThrow(/Session not found|404/);
    await idle.client.close();
  }, 30_000);
});
