import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  createTestApp,
  freshClockMinute,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 18 (rate limits): a server's `rpm`, a key's `rpm_limit`, a team's `mcp_rpm_limit` for one tool, counted
 * per clock minute, in memory or in Redis shared by two replicas; refusals are 429 with Retry-After (REST) or a
 * JSON-RPC error with the same data (MCP); Redis going away follows rate_limit_fail_mode. The local Redis
 * (127.0.0.1:6379, database 7) is used through a TCP proxy the test can cut.
 */
const MASTER_KEY = 'sk-master-e2e-rate-limits';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const REDIS_PORT = 6379;

/** A TCP proxy to the local Redis that the test can take down (connections reset, new ones refused). */
async function startRedisProxy(): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = createConnection(REDIS_PORT, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}/7`,
    down: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    up: () => (open = true),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('rate limits (e2e)', () => {
  let db: TestDatabase;
  let local: TestApp;
  let replicas: TestApp[] = [];
  let closedMode: TestApp;
  let fixture: McpFixture;
  let proxy: Awaited<ReturnType<typeof startRedisProxy>>;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    fixture = await startMcpFixture();
    proxy = await startRedisProxy();
    db = await provisionTestDatabase();
    const config = `
mcp_servers:
  limited:
    url: ${fixture.url}
    rpm: 3
  shared:
    url: ${fixture.url}
    rpm: 10
  open:
    url: ${fixture.url}
    allow_all_keys: true
`;
    local = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: config,
    });
    const admin = (path: string, body: object) =>
      request(local.url).post(path).set(master).send(body).expect(200);
    await admin('/team/new', { team_id: 'tight', mcp_rpm_limit: { 'open/echo': 1 } });
    keys.slow = (await admin('/key/generate', { key_alias: 'slow', rpm_limit: 2 })).body.key as string;
    keys.tight = (await admin('/key/generate', { key_alias: 'tight_user', team_id: 'tight' })).body
      .key as string;
    // Two replicas on Redis (through the proxy; the master key, so each may have its own database), and one
    // that refuses calls when Redis is gone.
    const onRedis = (mode: 'open' | 'closed') =>
      createTestApp({
        rootModule: GatewayModule.forRoot,
        database: { url: null, embeddedDir: 'memory://', runMigrations: true },
        env: { MASTER_KEY, REDIS_URL: proxy.url },
        configYaml: `${config}general_settings:\n  rate_limit_fail_mode: ${mode}\n`,
      });
    replicas = [await onRedis('open'), await onRedis('open')];
    closedMode = await onRedis('closed');
  });

  afterAll(async () => {
    for (const app of [...replicas, closedMode, local]) await app?.close();
    await db?.drop();
    await fixture?.close();
    await proxy?.close();
  });

  const call = (app: TestApp, name: string, auth: Record<string, string> = master) =>
    request(app.url)
      .post('/mcp/tools/call')
      .set(auth)
      .send({ name, arguments: { message: 'x' } });

  it('a server rpm: the next call is 429 with Retry-After and says which limit (REST and MCP)', async () => {
    await freshClockMinute();
    for (let i = 0; i < 3; i++) expect((await call(local, 'limited-echo')).status).toBe(200);
    const refused = await call(local, 'limited-echo');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body.error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 'mcp_server', limit_per_minute: 3, retry_after_s: expect.any(Number) },
    });
    expect(refused.body.error.message).toContain('MCP server limited (rpm) allows 3 calls per minute');
    const client = new Client({ name: 'rl', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${local.url}/mcp`), { requestInit: { headers: master } }),
    );
    try {
      const error = (await client
        .callTool({ name: 'limited-echo', arguments: {} })
        .catch((e: unknown) => e)) as McpError;
      expect(error).toBeInstanceOf(McpError);
      expect(error.code).toBe(-32029);
      expect(error.data).toMatchObject({ code: 'RATE_LIMITED', limit: 'mcp_server' });
    } finally {
      await client.close();
    }
  });

  it('a key rpm_limit and a team mcp_rpm_limit for one tool', async () => {
    await freshClockMinute();
    const slow = { Authorization: `Bearer ${keys.slow}` };
    // The master key is not limited by the slow key's limit.
    for (let i = 0; i < 2; i++) expect((await call(local, 'open-echo', slow)).status).toBe(200);
    const refused = await call(local, 'open-echo', slow);
    expect(refused.status).toBe(429);
    expect(refused.body.error.details.limit).toBe('mcp_per_key');
    expect((await call(local, 'open-echo')).status).toBe(200);
    const tight = { Authorization: `Bearer ${keys.tight}` };
    expect((await call(local, 'open-echo', tight)).status).toBe(200);
    const tool = await call(local, 'open-echo', tight);
    expect(tool.status).toBe(429);
    expect(tool.body.error.details.limit).toBe('mcp_tool');
    expect(tool.body.error.message).toContain('team tight on open/echo (mcp_rpm_limit)');
  });

  it('two replicas share the counts in Redis: rpm 10, 30 calls spread over both, exactly 10 succeed', async () => {
    await freshClockMinute();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await call(replicas[i % 2], 'shared-echo')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('Redis gone: open lets calls through (counted in a metric), closed refuses them with 503', async () => {
    await freshClockMinute();
    proxy.down();
    try {
      for (let i = 0; i < 12; i++) expect((await call(replicas[0], 'shared-echo')).status).toBe(200);
      const text = (await request(replicas[0].url).get('/metrics').set(master).expect(200)).text;
      expect(Number(/^mcp_rate_limit_errors_total (\S+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(12);
      const refused = await call(closedMode, 'shared-echo');
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITER_UNAVAILABLE' });
      expect(refused.body.error.message).toContain('rate_limit_fail_mode is closed');
    } finally {
      proxy.up();
    }
  });
});
