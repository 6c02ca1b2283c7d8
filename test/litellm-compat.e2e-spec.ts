import request from 'supertest';
import {
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 14 (in part): what a LiteLLM user already has works unchanged: config keys (`timeout` in seconds,
 * `spec_version`, `authentication_token`, `access_groups`) and admin bodies (`credentials: {auth_value}`, the
 * product page's alias-only body, free-text `server_id`, names up to 64 characters, `auth_type: token`,
 * `mcp_info.logo_url` in the REST listing).
 */
const MASTER_KEY = 'sk-master-e2e-litellm';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const LONG_NAME = `n${'x'.repeat(63)}`;

describe('LiteLLM shapes (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let fixture: McpFixture;

  beforeAll(async () => {
    fixture = await startMcpFixture();
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-litellm', CFG_TOKEN: 'cfg-token-123456' },
      configYaml: `
mcp_servers:
  from_config:
    url: ${fixture.url}
    transport: http
    spec_version: "2025-03-26"
    timeout: 2.5
    auth_type: bearer_token
    authentication_token: os.environ/CFG_TOKEN
    access_groups: [dev_group]
    mcp_info:
      logo_url: https://example.com/logo.png
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await fixture?.close();
  });

  const api = () => request(t.url);
  const authHeaders = () => fixture.requestHeaders.map((h) => h.authorization);

  it('takes the config file keys LiteLLM documents', async () => {
    const res = await api().get('/v1/mcp/server/from_config').set(master).expect(200);
    expect(res.body).toMatchObject({
      spec_version: '2025-03-26',
      timeout_ms: 2500,
      mcp_access_groups: ['dev_group'],
      status: 'healthy',
    });
    expect(authHeaders()).toContain('Bearer cfg-token-123456');
    expect(t.logs.text()).not.toContain('is not used by this gateway');
  });

  it('takes the product page body: alias only, spec_version, credentials object, a free server_id', async () => {
    const created = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_id: 'zapier-prod.1',
        alias: 'zapier',
        description: 'Zapier',
        url: fixture.url,
        transport: 'http',
        spec_version: '2025-03-26',
        auth_type: 'bearer_token',
        credentials: { auth_value: 'cred-token-abcdef' },
        mcp_info: { logo_url: 'https://example.com/z.png' },
      })
      .expect(201);
    expect(created.body).toMatchObject({
      server_id: 'zapier-prod.1',
      server_name: 'zapier',
      alias: 'zapier',
      spec_version: '2025-03-26',
    });
    expect(created.text).not.toContain('cred-token-abcdef');
    const one = await api().get('/v1/mcp/server/zapier-prod.1').set(master).expect(200);
    expect(one.body.status).toBe('healthy');
    expect(authHeaders()).toContain('Bearer cred-token-abcdef');
    // Updated by its free id, with LiteLLM's `timeout` in seconds.
    const updated = await api()
      .put('/v1/mcp/server')
      .set(master)
      .send({ server_id: 'zapier-prod.1', timeout: 12 })
      .expect(202);
    expect(updated.body).toMatchObject({ server_name: 'zapier', timeout_ms: 12_000 });
  });

  it('takes a dict credential: headers sent upstream as they are, never shown', async () => {
    const created = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'dict_cred',
        url: fixture.url,
        credentials: { auth_value: { 'X-Api-Key': 'dict-secret-4455' } },
      })
      .expect(201);
    expect(created.text).not.toContain('dict-secret-4455');
    const res = await api().get('/v1/mcp/server/dict_cred').set(master).expect(200);
    expect(res.body.status).toBe('healthy');
    expect(res.text).not.toContain('dict-secret-4455');
    expect(fixture.requestHeaders.some((h) => h['x-api-key'] === 'dict-secret-4455')).toBe(true);
    const bad = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'dict_bad',
        url: fixture.url,
        credentials: { auth_value: { Host: 'evil.example' } },
      })
      .expect(400);
    expect(bad.body.error.message).toContain('static_headers may not set Host');
  });

  it('shows mcp_info (logo_url included) in the REST tool listing', async () => {
    const res = await api().get('/mcp-rest/tools/list').set(master).expect(200);
    const tool = (res.body.tools as { name: string; mcp_info: Record<string, unknown> }[]).find(
      (x) => x.name === 'zapier-echo',
    );
    expect(tool?.mcp_info).toMatchObject({
      logo_url: 'https://example.com/z.png',
      server_name: 'zapier',
      server_id: 'zapier-prod.1',
    });
  });

  it('takes names up to 64 characters and auth_type token', async () => {
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: LONG_NAME, url: fixture.url, auth_type: 'token', auth_value: 'gh-token-998877' })
      .expect(201);
    const res = await api().get(`/v1/mcp/server/${LONG_NAME}`).set(master).expect(200);
    expect(res.body.status).toBe('healthy');
    expect(authHeaders()).toContain('token gh-token-998877');
  });

  it("the README's connect flow: a team with all-proxy-mcpservers, a key of that team, tools on /mcp", async () => {
    await api()
      .post('/team/new')
      .set(master)
      .send({ team_id: 'agents', object_permission: { mcp_servers: ['all-proxy-mcpservers'] } })
      .expect(200);
    const key = (
      await api()
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'my-agent', team_id: 'agents' })
        .expect(200)
    ).body.key as string;
    const listed = await api()
      .get('/mcp/tools/list')
      .set({ Authorization: `Bearer ${key}` })
      .expect(200);
    const names = (listed.body.tools as { name: string }[]).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['from_config-echo', 'zapier-echo']));
    // A key of that team that opts out, and one that inherits the team's list.
    const none = (
      await api()
        .post('/key/generate')
        .set(master)
        .send({ team_id: 'agents', object_permission: { mcp_servers: ['no-mcp-servers'] } })
        .expect(200)
    ).body.key as string;
    const refused = await api()
      .get('/mcp/tools/list')
      .set({ Authorization: `Bearer ${none}` })
      .expect(403);
    expect(refused.body.error.code).toBe('NO_MCP_ACCESS');
    const inherits = (
      await api()
        .post('/key/generate')
        .set(master)
        .send({ team_id: 'agents', object_permission: { mcp_servers: ['all-team-mcpservers'] } })
        .expect(200)
    ).body.key as string;
    const same = await api()
      .get('/mcp/tools/list')
      .set({ Authorization: `Bearer ${inherits}` })
      .expect(200);
    expect((same.body.tools as unknown[]).length).toBe(names.length);
    // Without any grant: 403 saying so (the README says it).
    const bare = (await api().post('/key/generate').set(master).send({}).expect(200)).body.key as string;
    const noGrant = await api()
      .get('/mcp/tools/list')
      .set({ Authorization: `Bearer ${bare}` })
      .expect(403);
    expect(noGrant.body.error.message).toContain('no MCP server is granted');
  });

  it('teams and keys with LiteLLM budget, limit, model and user fields: stored and returned', async () => {
    const team = await api()
      .post('/team/new')
      .set(master)
      .send({
        team_id: 'budgeted',
        team_alias: 'Budgeted',
        models: ['gpt-4o', 'gpt-4o-mini'],
        max_budget: 100.5,
        budget_duration: '30d',
        tpm_limit: 100000,
        rpm_limit: 600,
        metadata: { cost_center: 'cc-1' },
        object_permission: { mcp_servers: ['all-proxy-mcpservers'] },
      })
      .expect(200);
    expect(team.body).toMatchObject({
      models: ['gpt-4o', 'gpt-4o-mini'],
      max_budget: 100.5,
      budget_duration: '30d',
      tpm_limit: 100000,
      rpm_limit: 600,
      spend: 0,
      metadata: { cost_center: 'cc-1' },
    });
    const key = await api()
      .post('/key/generate')
      .set(master)
      .send({
        team_id: 'budgeted',
        key_alias: 'budget-key',
        user_id: 'alice@example.com',
        models: ['gpt-4o-mini'],
        max_budget: 10,
        budget_duration: '1mo',
        rpm_limit: 60,
        duration: '30d',
        metadata: { owner: 'alice' },
      })
      .expect(200);
    expect(key.body).toMatchObject({
      user_id: 'alice@example.com',
      models: ['gpt-4o-mini'],
      max_budget: 10,
      budget_duration: '1mo',
      rpm_limit: 60,
      tpm_limit: null,
      spend: 0,
    });
    const updated = await api()
      .post('/key/update')
      .set(master)
      .send({ key: 'budget-key', max_budget: null, tpm_limit: 5000 })
      .expect(200);
    expect(updated.body).toMatchObject({ max_budget: null, tpm_limit: 5000, rpm_limit: 60 });
    const info = await api().get('/key/info?key=budget-key').set(master).expect(200);
    expect(info.body.info).toMatchObject({ user_id: 'alice@example.com', tpm_limit: 5000 });
    const teamInfo = await api().get('/team/info?team_id=budgeted').set(master).expect(200);
    expect(JSON.stringify(teamInfo.body)).toContain('"max_budget":100.5');
    for (const [body, param] of [
      [{ spend: 5 }, 'spend'],
      [{ max_budget: -1 }, 'max_budget'],
      [{ budget_duration: 'monthly' }, 'budget_duration'],
      [{ rpm_limit: 1.5 }, 'rpm_limit'],
    ] as const) {
      const res = await api().post('/team/new').set(master).send(body).expect(400);
      expect([param, res.text]).toEqual([param, expect.stringContaining(param)]);
    }
  });

  it('refuses what two vocabularies say differently, or what is not supported yet, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timeout: 2, timeout_ms: 5000 }, 'timeout'],
      [
        { credentials: { auth_value: 'a-123456' }, auth_value: 'b-123456', auth_type: 'bearer_token' },
        'credentials.auth_value',
      ],
      [{ credentials: { client_id: 'x', client_secret: 'y' }, client_id: 'z' }, 'credentials.client_id'],
      [{ timeout: 0 }, 'timeout'],
      [{ spec_version: '1999-01-01' }, 'spec_version'],
    ];
    for (const [fields, param] of cases) {
      const res = await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'bad_one', url: fixture.url, ...fields })
        .expect(400);
      expect([param, JSON.stringify(res.body.error)]).toEqual([param, expect.stringContaining(param)]);
    }
    const nameless = await api().post('/v1/mcp/server').set(master).send({ url: fixture.url }).expect(400);
    expect(nameless.body.error.message).toContain('server_name (or alias) is required');
    const badId = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_id: 'has space', server_name: 'x1', url: fixture.url })
      .expect(400);
    expect(badId.body.error.message).toContain('server_id must be');
  });
});
