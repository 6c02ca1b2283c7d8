import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import { createTestApp, provisionTestDatabase, type TestApp, type TestDatabase } from '@app/testing';
import { SKIPPED_META_KEY } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 15, item 1: an upstream that echoes the credentials it was sent (as many do in 401/403 bodies) must not
 * get them out through the gateway: not in a REST error, an MCP error result, a list's `_meta`, health, the
 * test route, or a log line. Unique canaries are set as the server's credentials, then looked for everywhere.
 */
const MASTER_KEY = 'sk-master-e2e-upstream-secrets';
const TOKEN = 'canary-token-7f3a9c1e';
const STATIC = 'canary-static-5b2d8e40';

describe('upstream secrets never leave the gateway (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let leaky: HttpServer;
  let url: string;
  let teamKey: string;
  const master = { Authorization: `Bearer ${MASTER_KEY}` };
  const bodies: string[] = [];
  const noCanary = (text: string) => {
    bodies.push(text);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(STATIC);
  };

  beforeAll(async () => {
    // Refuses everything with a body that quotes the headers it got.
    leaky = createServer((req, res) => {
      req.resume();
      res
        .writeHead(403, { 'Content-Type': 'text/plain' })
        .end(`forbidden for token ${req.headers.authorization} static ${String(req.headers['x-static'])}`);
    });
    await new Promise<void>((resolve) => leaky.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(leaky.address() as AddressInfo).port}/mcp`;
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
    });
    const api = request(t.url);
    await api
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'leaky',
        url,
        auth_type: 'bearer_token',
        auth_value: TOKEN,
        static_headers: { 'x-static': STATIC },
      })
      .expect(201);
    await api
      .post('/team/new')
      .set(master)
      .send({ team_id: 'leak', object_permission: { mcp_servers: ['leaky'] } })
      .expect(200);
    teamKey = (await api.post('/key/generate').set(master).send({ team_id: 'leak' }).expect(200)).body.key;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await new Promise<void>((resolve) => (leaky ? leaky.close(() => resolve()) : resolve()));
  });

  it('a team key calling a tool over REST gets the failure without the credentials', async () => {
    const res = await request(t.url)
      .post('/mcp/tools/call')
      .set({ Authorization: `Bearer ${teamKey}` })
      .send({ name: 'leaky-anything' });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('HTTP 403');
    noCanary(JSON.stringify(res.body));
  });

  it('over MCP: the skipped-server note of tools/list and the error result of a call', async () => {
    const client = new Client({ name: 'secrets-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${teamKey}` } },
      }),
    );
    try {
      const listed = await client.listTools();
      const skipped = listed._meta?.[SKIPPED_META_KEY] as { message: string }[];
      expect(skipped[0].message).toContain('leaky');
      noCanary(JSON.stringify(listed));
      const call = (await client.callTool({ name: 'leaky-anything' })) as CallToolResult;
      expect(call.isError).toBe(true);
      noCanary(JSON.stringify(call));
    } finally {
      await client.close();
    }
  });

  it('the REST tool list errors, health and the test route (admin) show the detail, redacted', async () => {
    const api = request(t.url);
    const list = await api
      .get('/mcp/tools/list')
      .set({ Authorization: `Bearer ${teamKey}` })
      .expect(200);
    expect(list.body.errors).toHaveLength(1);
    noCanary(JSON.stringify(list.body));
    const health = await api.get('/v1/mcp/server/health').set(master).expect(200);
    const text = JSON.stringify(health.body);
    // The upstream did echo the credentials: the admin sees where they were.
    expect(text).toContain('[REDACTED]');
    noCanary(text);
    const tried = await api
      .post('/v1/mcp/server/test')
      .set(master)
      .send({
        server_name: 'leaky2',
        url,
        auth_type: 'bearer_token',
        auth_value: TOKEN,
        static_headers: { 'x-static': STATIC },
      })
      .expect(200);
    expect(tried.body.status).toBe('unhealthy');
    noCanary(JSON.stringify(tried.body));
  });

  it('no log line of the whole run carries a credential', () => {
    expect(bodies.length).toBeGreaterThan(4);
    const logs = t.logs.text();
    expect(logs).toContain('leaky');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(STATIC);
  });
});
