import request from 'supertest';
import {
  createTestApp,
  type McpFixture,
  type OAuthFixture,
  provisionTestDatabase,
  startMcpFixture,
  startOAuthFixture,
  startSseMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 14: `auth_type: oauth2` with client credentials, as LiteLLM takes it (config keys at the top level,
 * API `credentials: {client_id, client_secret, scopes}` with `token_url`): the gateway fetches tokens from a
 * real token endpoint, sends them to upstreams that check them, renews a refused one, and never shows the
 * client secret or a token.
 */
const MASTER_KEY = 'sk-master-e2e-oauth2';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const SECRET = 'client-secret-9f8e7d6c';

describe('auth_type oauth2, client credentials (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let oauth: OAuthFixture;
  let http: McpFixture;
  let sse: McpFixture;

  beforeAll(async () => {
    oauth = await startOAuthFixture({ clients: { 'gw-client': SECRET }, expiresIn: 3600 });
    const authorize = (header: string | undefined) => oauth.valid(header?.replace(/^Bearer /, ''));
    http = await startMcpFixture({ authorize });
    sse = await startSseMcpFixture({ authorize });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-oauth2', OAUTH_ID: 'gw-client', OAUTH_SECRET: SECRET },
      configYaml: `
mcp_servers:
  cfg_oauth:
    url: ${http.url}
    transport: http
    auth_type: oauth2
    oauth2_flow: client_credentials
    client_id: os.environ/OAUTH_ID
    client_secret: os.environ/OAUTH_SECRET
    token_url: ${oauth.tokenUrl}
    scopes: ["mcp.read", "mcp.call"]
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([oauth?.close(), http?.close(), sse?.close()]);
  });

  const api = () => request(t.url);
  const call = (name: string, headers: Record<string, string> = {}) =>
    api()
      .post('/mcp/tools/call')
      .set({ ...master, ...headers })
      .send({ name, arguments: { message: 'hi' } });
  const tokenRequests = () => oauth.requests.length;

  it('a config server gets its tokens from token_url, with the scopes, and uses them', async () => {
    const res = await call('cfg_oauth-echo').expect(200);
    expect(res.body.isError).toBeFalsy();
    expect(res.body.content[0].text).toContain('"message":"hi"');
    expect(oauth.requests[0]).toEqual({
      method: 'client_secret_post',
      clientId: 'gw-client',
      params: { grant_type: 'client_credentials', client_id: 'gw-client', scope: 'mcp.read mcp.call' },
    });
    const shown = await api().get('/v1/mcp/server/cfg_oauth').set(master).expect(200);
    expect(shown.body).toMatchObject({
      auth_type: 'oauth2',
      oauth2_flow: 'client_credentials',
      token_url: oauth.tokenUrl,
      scopes: ['mcp.read', 'mcp.call'],
      token_endpoint_auth_method: 'client_secret_post',
      has_credentials: true,
      status: 'healthy',
    });
  });

  it('takes LiteLLM API body (credentials object + token_url), over HTTP and SSE, and shows no secret', async () => {
    for (const [name, fixture] of [
      ['api_oauth', http],
      ['sse_oauth', sse],
    ] as const) {
      const created = await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({
          server_name: name,
          url: fixture.url,
          transport: fixture === sse ? 'sse' : 'http',
          auth_type: 'oauth2',
          token_url: oauth.tokenUrl,
          credentials: {
            client_id: 'gw-client',
            client_secret: SECRET,
            scopes: ['mcp.read'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        })
        .expect(201);
      expect(created.body).toMatchObject({
        oauth2_flow: 'client_credentials',
        scopes: ['mcp.read'],
        token_endpoint_auth_method: 'client_secret_basic',
        has_credentials: true,
      });
      expect(created.text).not.toContain(SECRET);
      expect(created.text).not.toContain('gw-client');
      const res = await call(`${name}-echo`).expect(200);
      expect([res.body.isError, res.body.content[0].text]).toEqual([
        undefined,
        expect.stringContaining('hi'),
      ]);
    }
    expect(oauth.requests.some((r) => r.method === 'client_secret_basic')).toBe(true);
  });

  it('reuses a token across calls, and renews one the upstream refuses without failing the call', async () => {
    await call('cfg_oauth-echo').expect(200);
    const before = tokenRequests();
    for (let i = 0; i < 3; i++) expect((await call('cfg_oauth-echo')).body.isError).toBeFalsy();
    expect(tokenRequests()).toBe(before);
    oauth.revokeAll();
    const res = await call('cfg_oauth-echo').expect(200);
    expect(res.body.isError).toBeFalsy();
    expect(tokenRequests()).toBe(before + 1);
    const viaSse = await call('sse_oauth-echo').expect(200);
    expect(viaSse.body.isError).toBeFalsy();
  });

  it('two virtual keys share the one machine-to-machine token of the server', async () => {
    await call('cfg_oauth-echo').expect(200);
    const before = tokenRequests();
    const seen = http.requestHeaders.length;
    for (const alias of ['cc-key-a', 'cc-key-b']) {
      const created = await api()
        .post('/key/generate')
        .set(master)
        .send({ key_alias: alias, object_permission: { mcp_servers: ['cfg_oauth'] } })
        .expect(200);
      const res = await api()
        .post('/mcp/tools/call')
        .set({ Authorization: `Bearer ${created.body.key as string}` })
        .send({ name: 'cfg_oauth-echo', arguments: { message: alias } })
        .expect(200);
      expect(res.body.content[0].text).toContain(alias);
    }
    expect(tokenRequests()).toBe(before);
    const sent = http.requestHeaders.slice(seen).map((h) => h.authorization);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent).size).toBe(1);
    expect(oauth.valid(String(sent[0]).replace(/^Bearer /, ''))).toBe(true);
  });

  it('a caller Authorization passed through wins over the grant (LiteLLM precedence)', async () => {
    const before = tokenRequests();
    const seen = http.requestHeaders.length;
    const res = await call('api_oauth-echo', { 'x-mcp-api_oauth-authorization': 'Bearer callers-own-token' });
    expect(res.body.isError ?? res.status >= 400).toBeTruthy();
    expect(http.requestHeaders.slice(seen).map((h) => h.authorization)).toContain('Bearer callers-own-token');
    expect(tokenRequests()).toBe(before);
  });

  it('a refused client secret fails the call with the token endpoint words, and health says why', async () => {
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_id: 'bad_oauth',
        server_name: 'bad_oauth',
        url: http.url,
        auth_type: 'oauth2',
        client_id: 'gw-client',
        client_secret: 'not-the-secret-4321',
        token_url: oauth.tokenUrl,
      })
      .expect(201);
    const res = await call('bad_oauth-echo');
    const text = JSON.stringify(res.body);
    expect(text).toContain('refused the client credentials (HTTP 401: invalid_client');
    expect(text).not.toContain('not-the-secret-4321');
    const health = await api().get('/v1/mcp/server/bad_oauth').set(master).expect(200);
    expect(health.body.status).toBe('unhealthy');
    expect(health.body.health_check_error).toContain('invalid_client');
  });

  it('refuses incomplete or contradictory oauth2 definitions, naming the field', async () => {
    const post = (body: Record<string, unknown>) =>
      api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'broken', url: http.url, ...body })
        .expect(400);
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { auth_type: 'oauth2', client_id: 'x' },
        'client_secret',
        'auth_type oauth2 needs client_id and client_secret',
      ],
      [{ auth_type: 'oauth2' }, 'client_id', 'auth_value (a fixed token)'],
      [
        { auth_type: 'bearer_token', client_id: 'x', client_secret: 'y' },
        'auth_type',
        'are for auth_type oauth2',
      ],
      [
        { auth_type: 'oauth2', auth_value: 'tok', client_id: 'x', client_secret: 'y' },
        'auth_value',
        'not two of them',
      ],
      [{ oauth2_flow: 'authorization_code', auth_value: 'tok' }, 'auth_value', 'not two of them'],
      [
        { oauth2_flow: 'authorization_code', client_secret: 'y' },
        'client_id',
        'client_secret needs client_id',
      ],
      [
        { oauth2_flow: 'authorization_code', token_url: 'https://idp.example.com/token' },
        'authorization_url',
        'go together',
      ],
      [
        { auth_type: 'oauth2', client_id: 'x', client_secret: 'y', authorization_url: 'https://idp/a' },
        'authorization_url',
        'is for oauth2_flow authorization_code',
      ],
      [
        { auth_type: 'oauth2', credentials: { client_id: 'x', client_secret: 'y', scopes: ['a b"'] } },
        'credentials.scopes',
        'OAuth scopes',
      ],
      [
        { auth_type: 'oauth2', client_id: 'x', client_secret: 'y', token_url: 'ftp://idp/token' },
        'token_url',
        'https://',
      ],
      [{ credentials: { client_id: 'x', audience: 'y' } }, 'credentials.audience', 'not supported'],
    ];
    for (const [body, param, words] of cases) {
      const res = await post(body);
      const errors = [res.body.error, ...(res.body.error.details?.fields ?? [])] as {
        param?: string;
        message: string;
      }[];
      expect({ body, match: errors.some((e) => e.param === param && e.message.includes(words)) }).toEqual({
        body,
        match: true,
      });
    }
  });

  it('a fixed token under auth_type oauth2 is sent as a bearer token (LiteLLM)', async () => {
    const res = await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'fixed_oauth',
        url: http.url,
        auth_type: 'oauth2',
        auth_value: 'fixed-token-7788',
      })
      .expect(201);
    expect(res.body.oauth2_flow).toBeNull();
    const seen = http.requestHeaders.length;
    await call('fixed_oauth-echo');
    expect(http.requestHeaders.slice(seen).map((h) => h.authorization)).toContain('Bearer fixed-token-7788');
  });

  it('switching a server away from oauth2 forgets its client credentials', async () => {
    const res = await api()
      .put('/v1/mcp/server')
      .set(master)
      .send({ server_id: 'bad_oauth', auth_type: 'none' })
      .expect(202);
    expect([res.body.oauth2_flow, res.body.has_credentials]).toEqual([null, false]);
  });

  it('never logs the client secret or a token', () => {
    const logs = t.logs.text();
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain('not-the-secret-4321');
    expect(logs).not.toMatch(/at-[0-9a-f]{24}/);
  });
});
