import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import request from 'supertest';
import {
  type Balancer,
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startBalancer,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
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
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('client sessions continued after a restart and on another replica (e2e)', () => {
  let db: TestDatabase;
  let upstream: McpFixture;
  let balancer: Balancer;
  let app: TestApp | null = null;
  const extra: TestApp[] = [];

  const start = async () =>
    createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${upstream.url}
`,
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
    fetch(`${balancer.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
        'Mcp-Protocol-Version': '2025-11-25',
      },
      body: JSON.stringify(body),
    });

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
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['web-echo']);
    const session = app.app.get(McpSessionManager).get(id);
    expect(session?.logLevel).toBe('error');
    expect(session?.server.getClientCapabilities()).toEqual({ roots: {} });
    expect(session?.server.getClientVersion()).toEqual({ name: 'resume-e2e', version: '1.0.0' });
    const metrics = await request(app.url).get('/metrics').set(master).expect(200);
    expect(metrics.text).toMatch(/^mcp_client_sessions_resumed_total 1$/m);
    await client.close();
  });

  it('continues a session only for the key that opened it and on its path; DELETE ends it for good', async () => {
    const key = (
      await request(app!.url).post('/key/generate').set(master).send({ key_alias: 'other' }).expect(200)
    ).body.key as string;
    const { client, transport } = await connect();
    const id = transport.sessionId as string;
    await app!.close();
    app = await start();
    balancer.setTargets([app.url]);

    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const foreign = await post(id, key, list);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: number } }).error.code).toBe(-32001);
    // Another path (one server's door) is another session.
    const elsewhere = await fetch(`${balancer.url}/web/mcp`, {
      method: 'POST',
      headers: {
        ...master,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': id,
      },
      body: JSON.stringify(list),
    });
    expect(elsewhere.status).toBe(404);
    expect((await echo(client, 'still mine')).arguments.message).toBe('still mine');

    await transport.terminateSession();
    await app?.close();
    app = await start();
    balancer.setTargets([app.url]);
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    await client.close();
  });

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

    // Ended through one replica: the other lets go of its copy and refuses the id.
    await transport.terminateSession();
    balancer.setTargets([app!.url, two.url]);
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    expect((await post(id, MASTER_KEY, list)).status).toBe(404);
    await client.close();
  });
});
