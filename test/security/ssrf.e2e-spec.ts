import request from 'supertest';
import { HostResolution, type HostResolver } from '@app/mcp-registry';
import {
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  type OAuthFixture,
  startMcpFixture,
  startOAuthFixture,
  startSseMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../../apps/gateway/src/gateway.module.js';

/**
 * Issue 15, item 2: with MCP_BLOCK_PRIVATE_URLS on, the private-address rule holds when the gateway dials,
 * not only when a server is registered: a name that rebinds to loopback, a server stored before the flag was
 * turned on, config-file servers (unless `allow_private_url: true`), every IPv6 form of a private address,
 * on Streamable HTTP, SSE, health checks and the test route. The resolver is the gateway's own, swapped for a
 * scripted one (no /etc/hosts edits). `target` is a real upstream on loopback that must never be reached.
 */
const MASTER_KEY = 'sk-master-e2e-ssrf';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('SSRF: the private-address rule at dial time (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let target: McpFixture;
  let targetSse: McpFixture;
  let allowed: McpFixture;
  let idp: OAuthFixture;
  let targetPort: string;
  const resolutions: string[] = [];
  let rebindAnswers = 0;
  const counts = { tried: 0, refused: 0 };

  /** Public once (the registration check), loopback from then on (the dial): DNS rebinding. */
  const resolver: HostResolver = (host) => {
    resolutions.push(host);
    if (host === 'public.test') return Promise.resolve([{ address: '203.0.113.9', family: 4 }]);
    if (host === 'rebind.test' || host === 'rebind2.test' || host === 'rebind-idp.test')
      return Promise.resolve([{ address: rebindAnswers++ === 0 ? '203.0.113.7' : '127.0.0.1', family: 4 }]);
    if (host === 'localhost')
      return Promise.resolve([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
    if (host === 'mixed.test')
      return Promise.resolve([
        { address: '203.0.113.8', family: 4 },
        { address: '::ffff:10.1.2.3', family: 6 },
      ]);
    return Promise.reject(new Error(`no such host ${host}`));
  };

  beforeAll(async () => {
    target = await startMcpFixture({ name: 'target' });
    targetSse = await startSseMcpFixture({ name: 'target_sse' });
    allowed = await startMcpFixture({ name: 'allowed' });
    idp = await startOAuthFixture({ clients: { c: 'secret-c' } });
    targetPort = new URL(target.url).port;
    db = await provisionTestDatabase({ persistent: true });
    // Registered while the flag was off.
    const before = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
    });
    await request(before.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'early', url: target.url })
      .expect(201);
    await before.close();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, MCP_BLOCK_PRIVATE_URLS: 'true' },
      configYaml: `
mcp_servers:
  cfg_private:
    url: ${target.url}
  cfg_sse:
    url: ${targetSse.url}
    transport: sse
  cfg_exempt:
    url: ${allowed.url}
    allow_private_url: true
`,
    });
    t.app.get(HostResolution).use(resolver);
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([target?.close(), targetSse?.close(), allowed?.close(), idp?.close()]);
    // The matrix's count line (issue 15: tried / refused as expected).
    process.stdout.write(
      `security matrix, SSRF: ${counts.tried} tried, ${counts.refused} refused as expected\n`,
    );
  });

  const api = () => request(t.url);
  const health = async (name: string) =>
    (await api().get(`/v1/mcp/server/${name}`).set(master).expect(200)).body as {
      status: string;
      health_check_error: string | null;
    };

  it('logs the exemption of a config server at boot', () => {
    expect(t.logs.text()).toContain(
      'server cfg_exempt (config file) has allow_private_url: true: it is dialed even at private addresses',
    );
  });

  it.each([
    'http://127.0.0.1:9/mcp',
    'http://[::1]/mcp',
    'http://[::127.0.0.1]/mcp',
    'http://[::ffff:127.0.0.1]/mcp',
    'http://[64:ff9b::7f00:1]/mcp',
    'http://[2002:7f00:1::1]/mcp',
    'http://[fd00::1]/mcp',
    'http://[fe80::1]/mcp',
    'http://169.254.169.254/latest/meta-data',
    'http://2130706433/mcp',
    'http://0x7f.1/mcp',
    'http://10.0.0.1/mcp',
    'http://localhost/mcp',
    'http://mixed.test/mcp',
  ])('refuses to register %s (400 MCP_URL_BLOCKED)', async (url) => {
    counts.tried++;
    const res = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'blocked', url })
      .expect(400);
    expect(res.body.error).toMatchObject({ code: 'MCP_URL_BLOCKED', param: 'url' });
    expect(res.body.error.message).toMatch(/private or reserved address \(MCP_BLOCK_PRIVATE_URLS is on\)/);
    counts.refused++;
  });

  it('does not dial config servers at private addresses, on Streamable HTTP or SSE', async () => {
    const seen = [target.requestHeaders.length, targetSse.requestHeaders.length];
    for (const name of ['cfg_private', 'cfg_sse']) {
      counts.tried++;
      const body = await health(name);
      expect(body.status).toBe('unhealthy');
      expect(body.health_check_error).toContain(
        `upstream address 127.0.0.1 is a private or reserved address (MCP_BLOCK_PRIVATE_URLS is on)`,
      );
      counts.refused++;
    }
    expect([target.requestHeaders.length, targetSse.requestHeaders.length]).toEqual(seen);
  });

  it('dials a config server exempted with allow_private_url', async () => {
    expect(await health('cfg_exempt')).toMatchObject({ status: 'healthy' });
  });

  it('does not dial a server stored before the flag was turned on', async () => {
    counts.tried++;
    const seen = target.requestHeaders.length;
    const body = await health('early');
    expect(body.status).toBe('unhealthy');
    expect(body.health_check_error).toContain('127.0.0.1 is a private or reserved address');
    const call = await api().post('/mcp/tools/call').set(master).send({ name: 'early-echo', arguments: {} });
    expect(call.status).toBeGreaterThanOrEqual(400);
    expect(call.status).toBeLessThan(600);
    expect(call.status).not.toBe(500);
    expect(target.requestHeaders.length).toBe(seen);
    counts.refused++;
  });

  it('refuses a name that resolved public at registration and rebinds to loopback (DNS rebinding)', async () => {
    counts.tried++;
    rebindAnswers = 0;
    const seen = target.requestHeaders.length;
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'rebind', url: `http://rebind.test:${targetPort}/mcp` })
      .expect(201);
    const body = await health('rebind');
    expect(body.status).toBe('unhealthy');
    expect(body.health_check_error).toContain(
      'upstream host rebind.test resolves to 127.0.0.1, which is a private or reserved address',
    );
    const listed = await api().get('/mcp/tools/list').set(master).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('rebind-echo');
    expect(target.requestHeaders.length).toBe(seen);
    counts.refused++;
  });

  it('the test route dials through the same rule (checked, then rebound)', async () => {
    counts.tried++;
    rebindAnswers = 0;
    const seen = target.requestHeaders.length;
    const res = await api()
      .post('/v1/mcp/server/test')
      .set(master)
      .send({ url: `http://rebind2.test:${targetPort}/mcp` })
      .expect(200);
    expect(res.body).toMatchObject({ status: 'unhealthy' });
    expect(res.body.error).toContain('rebind2.test resolves to 127.0.0.1');
    expect(target.requestHeaders.length).toBe(seen);
    expect(resolutions.filter((h) => h === 'rebind2.test').length).toBeGreaterThanOrEqual(2);
    counts.refused++;
  });

  it('holds OAuth2 token endpoints to the rule: at registration, and when a name rebinds at dial time', async () => {
    counts.tried += 2;
    const idpPort = new URL(idp.tokenUrl).port;
    const grant = { auth_type: 'oauth2', client_id: 'c', client_secret: 'secret-c' };
    const refused = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'idp_private', url: 'http://public.test/mcp', ...grant, token_url: idp.tokenUrl })
      .expect(400);
    expect(refused.body.error).toMatchObject({ code: 'MCP_URL_BLOCKED', param: 'token_url' });
    expect(refused.body.error.message).toMatch(/^token_url /);
    counts.refused++;
    rebindAnswers = 0;
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'idp_rebind',
        url: 'http://public.test/mcp',
        ...grant,
        token_url: `http://rebind-idp.test:${idpPort}/token`,
      })
      .expect(201);
    const body = await health('idp_rebind');
    expect(body.status).toBe('unhealthy');
    expect(body.health_check_error).toContain('rebind-idp.test resolves to 127.0.0.1');
    expect(idp.requests).toHaveLength(0);
    counts.refused++;
  });
});
