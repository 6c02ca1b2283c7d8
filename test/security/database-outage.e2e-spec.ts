import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  createTestApp,
  type DatabaseProxy,
  type McpFixture,
  startDatabaseProxy,
  startMcpFixture,
  type TestApp,
} from '@app/testing';
import { GatewayModule } from '../../apps/gateway/src/gateway.module.js';

/**
 * Issue 15, item 6: the database goes away (connections reset) or hangs (no answer) under a running gateway.
 * Uncached keys and admin routes get 503 SERVICE_UNAVAILABLE with Retry-After (a JSON-RPC error on MCP
 * routes), never a 500; keys verified before the outage keep working for the grace period even after the key
 * cache's TTL; everything recovers without a restart. The database sits behind a TCP proxy the test controls.
 */
const MASTER_KEY = 'sk-master-e2e-outage';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('database outage (e2e)', () => {
  let proxy: DatabaseProxy;
  let t: TestApp;
  let fixture: McpFixture;
  let warmKey: string;
  let coldKey: string;
  let client: Client;
  const statuses: number[] = [];

  beforeAll(async () => {
    fixture = await startMcpFixture();
    proxy = await startDatabaseProxy();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: proxy.database,
      env: { MASTER_KEY },
      // A 1 s key cache, so that the grace period (not the cache) is what keeps warm keys working.
      configYaml: `
mcp_servers:
  echo:
    url: ${fixture.url}
    allow_all_keys: true
general_settings:
  key_cache_ttl_seconds: 1
  database_outage_grace_seconds: 120
`,
    });
    const make = async (alias: string) =>
      (await request(t.url).post('/key/generate').set(master).send({ key_alias: alias }).expect(200)).body
        .key as string;
    warmKey = await make('warm');
    coldKey = await make('cold');
    client = new Client({ name: 'outage-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${warmKey}` } },
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await t?.close();
    await proxy?.close();
    await fixture?.close();
  });

  const api = () => request(t.url);
  const echo = async () => {
    const result = (await client.callTool({
      name: 'echo-echo',
      arguments: { message: 'hi' },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
  };
  /** Waits past the key cache's TTL, on the clock the cache reads. */
  const pastKeyCacheTtl = () => new Promise((resolve) => setTimeout(resolve, 1100));

  const expectUnavailable = (res: request.Response) => {
    statuses.push(res.status);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.text).not.toMatch(/ECONNRE|stack|at .*\.js/);
  };

  it('before the outage: the warm key works over MCP', async () => {
    await echo();
  });

  it.each(['down', 'hung'] as const)(
    'database %s: 503 with Retry-After, warm keys keep working',
    async (mode) => {
      proxy.set(mode);
      try {
        await pastKeyCacheTtl();
        // A key never seen: it cannot be verified.
        const cold = await api()
          .get('/v1/mcp/server')
          .set({ Authorization: `Bearer ${coldKey}` });
        expectUnavailable(cold);
        expect(cold.body.error).toMatchObject({
          code: 'SERVICE_UNAVAILABLE',
          type: 'service_unavailable_error',
        });
        expect(cold.body.error.message).toContain('database is unavailable');
        // An admin route that needs the database.
        const list = await api().get('/key/list').set(master);
        expectUnavailable(list);
        // An MCP route: a JSON-RPC error.
        const mcp = await api()
          .post('/mcp')
          .set({ Authorization: `Bearer ${coldKey}`, Accept: 'application/json, text/event-stream' })
          .send({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: {
              protocolVersion: '2025-06-18',
              capabilities: {},
              clientInfo: { name: 'x', version: '1' },
            },
          });
        expectUnavailable(mcp);
        expect(mcp.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
        // The warm key, past its cache TTL: served from the grace period, on its open session and on REST.
        await echo();
        await api()
          .get('/mcp/tools/list')
          .set({ Authorization: `Bearer ${warmKey}` })
          .expect(200);
      } finally {
        proxy.set('up');
      }
      expect(t.logs.text()).toContain(
        'database unavailable: keys verified recently are served from the cache',
      );
    },
  );

  it('recovers without a restart', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the 1 s back-off after a failed lookup
    await api()
      .get('/v1/mcp/server')
      .set({ Authorization: `Bearer ${coldKey}` })
      .expect(200);
    await api().get('/key/list').set(master).expect(200);
    await echo();
    expect(statuses.every((s) => s === 503)).toBe(true);
    process.stdout.write(
      `security matrix, database outage: ${statuses.length} tried, ${statuses.filter((s) => s === 503).length} refused as expected (503)\n`,
    );
  });
});
