import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  type Balancer,
  createTestApp,
  eventually,
  initializeRequest,
  type McpFixture,
  mcpPost,
  provisionTestDatabase,
  startBalancer,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { DrainState } from '@app/observability';
import { McpSessionManager } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 18, acceptance 2 (and the session half of 1 in one process): a client's session id keeps working after
 * the gateway restarts on the same database, with no reconnect on the client's side; a second replica
 * continues a session opened on the first. A test balancer in front keeps the client's URL while the process
 * behind it changes. On the embedded database the sessions are in its data folder; with TEST_DATABASE_URL in
 * Postgres.
 */
const MASTER_KEY = 'sk-master-e2e-resume';
const STDIO_FIXTURE = path.resolve('test/fixtures/stdio-rich-server.mjs');
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('client sessions continued after a restart and on another replica (e2e)', () => {
  let db: TestDatabase;
  let upstream: McpFixture;
  let balancer: Balancer;
  let app: TestApp | null = null;
  const extra: TestApp[] = [];

  /** A gateway on the suite's database (`settings`: more YAML, such as general_settings). */
  const start = async (settings = '') =>
    createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${upstream.url}
  local:
    transport: stdio
    command: node
    args: [${STDIO_FIXTURE}]
    env: { FIXTURE_NAME: local }
    session_mode: per_client
${settings}`,
    });

  beforeAll(async () => {
    upstream = await startMcpFixture();
    db = await provisionTestDatabase({ persistent: true });
    app = await start();
    balancer = await startBalancer([app.url]);
  });

  afterAll(async () => {
    await balancer?.close();
    for (const t of extra) await t.close();
    await app?.close();
    await db?.drop();
    await upstream?.close();
  });

  const connect = async (key = MASTER_KEY) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${balancer.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    });
    const client = new Client({ name: 'resume-e2e', version: '1.0.0' }, { capabilities: { roots: {} } });
    await client.connect(transport);
    return { client, transport };
  };
  const echo = async (client: Client, message: string) => {
    const result = await client.callTool({ name: 'web-echo', arguments: { message } });
    return JSON.parse((result.content as { text: string }[])[0].text) as { arguments: { message: string } };
  };
  const post = (sessionId: string, key: string, body: unknown) =>
    mcpPost(`${balancer.url}/mcp`, key, body, sessionId);

  it('keeps a session across a restart: same id, no reconnect, log level and client capabilities kept', async () => {
    const { client, transport } = await connect();
    expect((await echo(client, 'before')).arguments.message).toBe('before');
    await client.setLoggingLevel('error');
    const id = transport.sessionId as string;

    await app!.close();
    app = await start();
    balancer.setTargets([app.url]);

    // The same client object, the same session id: it goes on as if nothing happened.
    expect((await echo(client, 'after')).arguments.message).toBe('after');
    expect(transport.sessionId).toBe(id);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('web-echo');
    const session = app.app.get(McpSessionManager).get(id);
    expect(session?.logLevel).toBe('error');
    expect(session?.server.getClientCapabilities()).toEqual({ roots: {} });
    expect(session?.server.getClientVersion()).toEqual({ name: 'resume-e2e', version: '1.0.0' });
    const metrics = await request(app.url).get('/metrics').set(master).expect(200);
    expect(metrics.text).toMatch(/^mcp_client_sessions_resumed_total 1$/m);
    await client.close();
  });

  it('starts a per-client stdio server anew after a restart and warns the client, with the call that needed it', async () => {
    const { client } = await connect();
    const warnings: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      if (n.params.level === 'warning') warnings.push(String(n.params.data));
    });
    const pid = async () =>
      ((await client.callTool({ name: 'local-pid', arguments: {} })).content as { text: string }[])[0].text;
    const before = await pid();
    expect(await pid()).toBe(before);
    expect(warnings).toEqual([]);

    await app!.close();
    app = await start();
    balancer.setTargets([app.url]);
    // Another process, and the client is told why.
    const after = await pid();
    expect(after).not.toBe(before);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('a new process of MCP server local was started for this session');
    expect(await pid()).toBe(after);
    expect(warnings).toHaveLength(1);
    await client.close();
  });

  it('continues a session only for the key that opened it and on its path; DELETE ends it for good', async () => {
    const key = (
      await request(app!.url).post('/key/generate').set(master).send({ key_alias: 'other' }).expect(200)
    ).body.key as string;
    const { client, transport } = await connect();
    const id = transport.sessionId as string;
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    // Held by this process: another path is still another session.
    expect((await mcpPost(`${balancer.url}/web/mcp`, MASTER_KEY, list, id)).status).toBe(404);
    await app!.close();
    app = await start();
    balancer.setTargets([app.url]);

    const foreign = await post(id, key, list);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: number } }).error.code).toBe(-32001);
    // Another path (one server's door) is another session.
    const elsewhere = await mcpPost(`${balancer.url}/web/mcp`, MASTER_KEY, list, id);
    expect(elsewhere.status).toBe(404);
    expect((await echo(client, 'still mine')).arguments.message).toBe('still mine');

    await transport.terminateSession();
    await app?.close();
    app = await start();
    balancer.setTargets([app.url]);
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    await client.close();
  });

  it('continues no session it does not hold while draining: 503, so that the client retries elsewhere', async () => {
    const { client, transport } = await connect();
    const id = transport.sessionId as string;
    await app!.close();
    app = await start();
    balancer.setTargets([app.url]);
    app.app.get(DrainState).begin();
    const res = await post(id, MASTER_KEY, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('retry');
    // The next process continues it.
    await app.close();
    app = await start();
    balancer.setTargets([app.url]);
    expect((await echo(client, 'after the drain')).arguments.message).toBe('after the drain');
    await client.close();
  });

  it('counts max_sessions_per_key and idle expiry over every replica (Postgres)', async () => {
    if (db.kind !== 'postgres') return; // The embedded database is one process by construction.
    const limited = () => start('general_settings:\n  max_sessions_per_key: 2\n  session_idle_timeout: 10\n');
    const a = await limited();
    const b = await limited();
    extra.push(a, b);
    const key = (
      await request(a.url)
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'capped', object_permission: { mcp_servers: ['web'] } })
        .expect(200)
    ).body.key as string;
    const initialize = (url: string) => mcpPost(`${url}/mcp`, key, initializeRequest('cap'));
    // One session on each replica: the third, on either, is one too many.
    const first = await initialize(a.url);
    expect(first.status).toBe(200);
    expect((await initialize(b.url)).status).toBe(200);
    const third = await initialize(a.url);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain(
      'max_sessions_per_key is 2',
    );

    // Kept alive through replica b only: replica a lets go of its copy, but the session is not over.
    const id = first.headers.get('mcp-session-id') as string;
    const list = (url: string) =>
      mcpPost(`${url}/mcp`, key, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, id);
    const copyOnA = () => a.app.get(McpSessionManager).get(id);
    for (let i = 0; i < 25 && copyOnA(); i++) {
      expect((await list(b.url)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(copyOnA()).toBeUndefined();
    expect((await list(a.url)).status).toBe(200);
    // Then idle everywhere (nobody asks: a request would be activity): ended, refused on both.
    await eventually(
      'both replicas close the idle session',
      () => Promise.resolve(!copyOnA() && !b.app.get(McpSessionManager).get(id)),
      20_000,
    );
    expect((await list(a.url)).status).toBe(404);
    expect((await list(b.url)).status).toBe(404);
  }, 60_000);

  it('lets a second replica continue a session opened on the first (Postgres), every request to the next one', async () => {
    if (db.kind !== 'postgres') return; // The embedded database is one process by construction.
    const two = await start();
    extra.push(two);
    balancer.setTargets([app!.url, two.url]);
    const { client, transport } = await connect();
    for (let i = 0; i < 20; i++)
      expect((await echo(client, `call ${i}`)).arguments.message).toBe(`call ${i}`);
    const id = transport.sessionId as string;
    expect(app!.app.get(McpSessionManager).get(id)).toBeDefined();
    expect(two.app.get(McpSessionManager).get(id)).toBeDefined();

    // Ended through one replica: the other lets go of its copy (told at once) and refuses the id.
    await transport.terminateSession();
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    await eventually(
      'both copies let go',
      () =>
        Promise.resolve(!app!.app.get(McpSessionManager).get(id) && !two.app.get(McpSessionManager).get(id)),
      1000,
    );
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    await client.close();
  });
});
