import request from 'supertest';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  type AuthCodeFixture,
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startAuthCodeFixture,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 20: per-user upstream OAuth (auth_type oauth2, oauth2_flow authorization_code). A real authorization
 * server of the test's own (dynamic registration, PKCE, refresh, `iss`), an MCP server that checks its tokens
 * and says whose they are, and the test playing each person at a browser: the sign-in URL reaches them through
 * MCP (-32042) and REST (401), the gateway's callback finishes it, and each user's calls carry their own token.
 */
const MASTER_KEY = 'sk-master-e2e-upstream-oauth';

/** An MCP server protected by `as`: its one tool says whose token it got. */
function whoamiUpstream(as: AuthCodeFixture): Promise<McpFixture> {
  return startMcpFixture({
    authorizationServer: as.issuer,
    authorize: (header) => as.userOf(header) !== null,
    tools: [{ name: 'whoami', inputSchema: { type: 'object' } }],
    call: (_name, _args, authorization) => ({
      content: [{ type: 'text', text: as.userOf(authorization) ?? 'nobody' }],
    }),
  });
}
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('upstream OAuth, authorization code per user (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let as: AuthCodeFixture;
  let crm: McpFixture;
  const keys: Record<string, string> = {};
  /** Everything a response or the test saw that must never be shown: tokens, codes. */
  const seenSecrets = new Set<string>();

  beforeAll(async () => {
    as = await startAuthCodeFixture({ expiresIn: 3600, scopesSupported: ['crm.read', 'offline_access'] });
    crm = await startMcpFixture({
      authorizationServer: as.issuer,
      authorize: (header) => as.userOf(header) !== null,
      tools: [
        { name: 'whoami', inputSchema: { type: 'object' } },
        { name: 'leak', inputSchema: { type: 'object' } },
      ],
      call: (name, _args, authorization) => {
        const token = authorization?.replace(/^Bearer /, '');
        if (token) seenSecrets.add(token);
        // A hostile or careless upstream that quotes the caller's token in its error.
        if (name === 'leak') throw new Error(`token ${token} is not allowed here`);
        return { content: [{ type: 'text', text: as.userOf(authorization) ?? 'nobody' }] };
      },
    });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-upstream-oauth' },
    });
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({
        server_name: 'crm',
        url: crm.url,
        auth_type: 'oauth2',
        oauth2_flow: 'authorization_code',
        scopes: ['crm.read'],
      })
      .expect(201);
    for (const [name, user] of [
      ['alice', 'alice'],
      ['alice2', 'alice'],
      ['bob', 'bob'],
      ['dave', 'dave'],
    ]) {
      const res = await api()
        .post('/key/generate')
        .set(master)
        .send({ user_id: user, key_alias: name, object_permission: { mcp_servers: ['crm'] } })
        .expect(200);
      keys[name] = res.body.key as string;
    }
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([as?.close(), crm?.close()]);
  });

  const api = () => request(t.url);
  const as_ = (key: string) => ({ Authorization: `Bearer ${key}` });
  const restCall = (key: string) =>
    api().post('/mcp/tools/call').set(as_(key)).send({ name: 'crm-whoami', arguments: {} });

  /** The person at the browser: opens the sign-in URL as `user`, follows the redirect to the gateway. */
  async function signIn(url: string, user: string): Promise<{ status: number; page: string }> {
    const authorize = new URL(url);
    authorize.searchParams.set('user', user);
    const atServer = await fetch(authorize, { redirect: 'manual' });
    expect(atServer.status).toBe(302);
    const back = new URL(atServer.headers.get('location') ?? '');
    const code = back.searchParams.get('code');
    if (code) seenSecrets.add(code);
    expect(back.origin).toBe(new URL(t.url).origin);
    const done = await fetch(back);
    return { status: done.status, page: await done.text() };
  }

  async function mcpClient(key: string): Promise<Client> {
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/crm/mcp`), {
        requestInit: { headers: as_(key) },
      }),
    );
    return client;
  }

  it('an MCP client gets the sign-in URL (-32042), the user signs in, and their calls carry their token', async () => {
    const client = await mcpClient(keys.alice);
    try {
      const refused = await client.listTools().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(McpError);
      const { code, data } = refused as McpError;
      expect(code).toBe(-32042);
      const [elicitation] = (data as { elicitations: { mode: string; url: string }[] }).elicitations;
      expect(elicitation.mode).toBe('url');
      const url = new URL(elicitation.url);
      expect(url.origin).toBe(as.issuer);
      // Dynamic registration with the gateway's callback; PKCE; the MCP server as the resource.
      expect(as.registrations[0]).toMatchObject({
        redirect_uris: [`${t.url}/v1/mcp/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
      });
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('resource')).toBe(crm.url);
      expect(url.searchParams.get('scope')).toBe('crm.read offline_access');

      const done = await signIn(elicitation.url, 'alice');
      expect(done).toMatchObject({ status: 200 });
      expect(done.page).toContain('signed in to crm');

      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(['whoami', 'leak']);
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'alice' }]);
    } finally {
      await client.close();
    }
  });

  it("a caller's own Authorization passed through (x-mcp-auth) wins over the sign-in, as in LiteLLM", async () => {
    // Dave has not signed in: asked to, he has a sign-in pending.
    await restCall(keys.dave).expect(401);
    const alices = [...seenSecrets].find((token) => as.userOf(`Bearer ${token}`) === 'alice');
    const res = await api()
      .post('/mcp/tools/call')
      .set({ ...as_(keys.dave), 'x-mcp-auth': alices ?? '' })
      .send({ name: 'crm-whoami', arguments: {} })
      .expect(200);
    expect(res.body.content[0].text).toBe('alice');
  });

  it('another user gets their own sign-in over REST (401 with the URL) and sees only their own identity', async () => {
    const refused = await restCall(keys.bob).expect(401);
    expect(refused.body.error.code).toBe('UPSTREAM_SIGN_IN_REQUIRED');
    const url = refused.body.error.details.authorization_url as string;
    expect(new URL(url).origin).toBe(as.issuer);
    // Asked again before signing in: the same link (one pending sign-in per user and server).
    const again = await restCall(keys.bob).expect(401);
    expect(again.body.error.details.authorization_url).toBe(url);

    expect((await signIn(url, 'bob')).status).toBe(200);
    expect((await restCall(keys.bob).expect(200)).body.content[0].text).toBe('bob');
    expect((await restCall(keys.alice).expect(200)).body.content[0].text).toBe('alice');
    // A second key of the same user (user_id) uses that user's sign-in.
    expect((await restCall(keys.alice2).expect(200)).body.content[0].text).toBe('alice');
  });

  it('a 2026-07-28 client that can show URLs is asked to sign in with input_required, and its retry runs', async () => {
    const modern = (elicitation: { form?: Record<string, never>; url?: Record<string, never> }) =>
      new ModernClient(
        { name: 'e2e-2026', version: '1' },
        { capabilities: { elicitation }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
    const transport = () =>
      new ModernTransport(new URL(`${t.url}/crm/mcp`), { requestInit: { headers: as_(keys.dave) } });
    // One that cannot show a URL gets the -32042 error with the sign-in URL.
    const plain = modern({ form: {} });
    await plain.connect(transport());
    const refused = await plain.callTool({ name: 'whoami', arguments: {} }).catch((e: unknown) => e);
    expect((refused as { code?: number }).code).toBe(-32042);
    await plain.close();

    const client = modern({ url: {} });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (req) => {
      const params = req.params as { mode?: string; url?: string };
      asked.push(params.mode ?? '');
      if (params.url) expect((await signIn(params.url, 'dave')).status).toBe(200);
      return { action: 'accept' };
    });
    await client.connect(transport());
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'dave' }]);
      expect(asked).toEqual(['url']);
    } finally {
      await client.close();
    }
  });

  it("an upstream that quotes a user's token back has it redacted", async () => {
    const res = await api()
      .post('/mcp/tools/call')
      .set(as_(keys.alice))
      .send({ name: 'crm-leak', arguments: {} });
    const text = JSON.stringify(res.body);
    expect(text).toContain('[REDACTED]');
    for (const secret of seenSecrets) expect(text).not.toContain(secret);
  });

  it('a token the upstream refuses is renewed with the refresh token, without asking the user', async () => {
    const refreshes = () => as.tokenRequests.filter((r) => r.params.grant_type === 'refresh_token').length;
    const before = refreshes();
    as.expireAccessTokens();
    expect((await restCall(keys.alice).expect(200)).body.content[0].text).toBe('alice');
    expect((await restCall(keys.bob).expect(200)).body.content[0].text).toBe('bob');
    expect(refreshes()).toBe(before + 2);
  });

  it('a lapsed grant (refresh refused) asks the user to sign in again', async () => {
    as.expireAccessTokens();
    as.revokeRefreshTokens();
    const refused = await restCall(keys.bob).expect(401);
    expect(refused.body.error.code).toBe('UPSTREAM_SIGN_IN_REQUIRED');
    expect((await signIn(refused.body.error.details.authorization_url as string, 'bob')).status).toBe(200);
    expect((await restCall(keys.bob).expect(200)).body.content[0].text).toBe('bob');
    // Alice too (her refresh token was revoked as well).
    const alice = await restCall(keys.alice).expect(401);
    expect((await signIn(alice.body.error.details.authorization_url as string, 'alice')).status).toBe(200);
  });

  it('shows each user their sign-ins and admins who signed in; never a token', async () => {
    const mine = await api().get('/v1/mcp/user-credentials').set(as_(keys.alice)).expect(200);
    expect(mine.body).toEqual([
      expect.objectContaining({
        server_name: 'crm',
        credential_type: 'oauth2',
        has_credential: true,
        is_expired: false,
      }),
    ]);
    const status = await api()
      .get('/v1/mcp/server/crm/oauth-user-credential/status')
      .set(as_(keys.bob))
      .expect(200);
    expect(status.body).toMatchObject({ has_credential: true, is_expired: false });
    const users = await api().get('/v1/mcp/server/crm/oauth-users').set(master).expect(200);
    expect(users.body.map((u: { owner: string }) => u.owner)).toEqual([
      'user:alice',
      'user:bob',
      'user:dave',
    ]);
    await api().get('/v1/mcp/server/crm/oauth-users').set(as_(keys.bob)).expect(403);
    for (const body of [mine.body, status.body, users.body])
      for (const secret of seenSecrets) expect(JSON.stringify(body)).not.toContain(secret);
  });

  it("a user can forget their sign-in, and an admin can forget anyone's; others keep theirs", async () => {
    await api().delete('/v1/mcp/server/crm/oauth-user-credential').set(as_(keys.alice)).expect(200);
    const refused = await restCall(keys.alice).expect(401);
    expect(refused.body.error.code).toBe('UPSTREAM_SIGN_IN_REQUIRED');
    expect((await restCall(keys.bob).expect(200)).body.content[0].text).toBe('bob');

    await api().delete('/v1/mcp/server/crm/oauth-users/user:bob').set(master).expect(200);
    await restCall(keys.bob).expect(401);
    await api().delete('/v1/mcp/server/crm/oauth-users/user:nobody').set(master).expect(404);
  });

  it('refuses a callback whose state was changed, or a link already used', async () => {
    const refused = await restCall(keys.alice).expect(401);
    const url = new URL(refused.body.error.details.authorization_url as string);
    url.searchParams.set('user', 'alice');
    const atServer = await fetch(url, { redirect: 'manual' });
    const back = new URL(atServer.headers.get('location') ?? '');
    const state = back.searchParams.get('state') ?? '';
    const tampered = new URL(back);
    tampered.searchParams.set('state', `${state.slice(0, -2)}${state.endsWith('A') ? 'BB' : 'AA'}`);
    const bad = await fetch(tampered);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('not issued by this gateway');
    // A wrong issuer in the redirect (RFC 9207) is refused.
    const wrongIss = new URL(back);
    wrongIss.searchParams.set('iss', 'https://evil.example.com');
    const mixUp = await fetch(wrongIss);
    expect(mixUp.status).toBe(400);
    // The real one works once.
    expect((await fetch(back)).status).toBe(200);
    const reused = await fetch(back);
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain('no longer valid');
  });

  it('validates the definition, and shows the flow without secrets', async () => {
    const res = await api().get('/v1/mcp/server/crm').set(master).expect(200);
    expect(res.body).toMatchObject({ auth_type: 'oauth2', oauth2_flow: 'authorization_code' });
    await api()
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'bad', url: crm.url, oauth2_flow: 'authorization_code', auth_value: 'x' })
      .expect(400);
  });

  it("a server redefined to another URL never gets the users' tokens: they sign in again", async () => {
    const elsewhere = await whoamiUpstream(as);
    try {
      // Bob is signed in (his calls work), then the admin points the server at another URL.
      expect((await restCall(keys.bob)).status).toBe(401);
      const url = (await restCall(keys.bob)).body.error.details.authorization_url as string;
      expect((await signIn(url, 'bob')).status).toBe(200);
      expect((await restCall(keys.bob).expect(200)).body.content[0].text).toBe('bob');
      await api()
        .put('/v1/mcp/server')
        .set(master)
        .send({ server_id: 'crm', url: elsewhere.url })
        .expect(202);
      const refused = await restCall(keys.bob).expect(401);
      expect(refused.body.error.code).toBe('UPSTREAM_SIGN_IN_REQUIRED');
      const sent = elsewhere.requestHeaders.map((h) => h.authorization).filter(Boolean);
      expect(sent).toEqual([]);
    } finally {
      await api().put('/v1/mcp/server').set(master).send({ server_id: 'crm', url: crm.url }).expect(202);
      await elsewhere.close();
    }
  });

  it('never logs a token, a code or a client secret, nor keeps one in the audit rows', async () => {
    const logs = t.logs.text();
    expect(seenSecrets.size).toBeGreaterThan(3);
    for (const secret of seenSecrets) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/secret-[0-9a-f]{24}/);
    expect(logs).not.toMatch(/rt-[0-9a-f]{24}/);
    // The tool-call log (written in the background): the calls of this file, the refused ones included.
    let rows: unknown[] = [];
    for (let i = 0; i < 50 && rows.length < 10; i++) {
      rows = (await api().get('/v1/mcp/logs?server=crm&limit=200').set(master).expect(200)).body.data;
      if (rows.length < 10) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows.length).toBeGreaterThanOrEqual(10);
    const audit = JSON.stringify(rows);
    for (const secret of seenSecrets) expect(audit).not.toContain(secret);
    expect(audit).not.toMatch(/secret-[0-9a-f]{24}|rt-[0-9a-f]{24}/);
  });
});

/**
 * The gateway behind a proxy at an https PROXY_BASE_URL, with an authorization server that accepts client ID
 * metadata documents: the gateway's client_id is its document's URL (no registration), the document names the
 * callback, and the sign-in works through the proxy (the test plays it, sending the proxy's URLs to the gateway).
 */
describe('upstream OAuth with the gateway client metadata document (e2e)', () => {
  const PUBLIC = 'https://gateway.example.test';
  let db: TestDatabase;
  let t: TestApp;
  let as: AuthCodeFixture;
  let crm: McpFixture;
  /** The proxy: a public URL of the gateway, as the gateway itself is reached. */
  const behindProxy = (url: string) => url.replace(PUBLIC, t.url);

  beforeAll(async () => {
    as = await startAuthCodeFixture({
      clientMetadataDocument: async (clientId) => {
        const res = await fetch(behindProxy(clientId));
        return res.ok ? ((await res.json()) as { redirect_uris?: string[] }) : null;
      },
    });
    crm = await whoamiUpstream(as);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-upstream-oauth-cimd', PROXY_BASE_URL: PUBLIC },
    });
    await request(t.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'crm', url: crm.url, oauth2_flow: 'authorization_code' })
      .expect(201);
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([as?.close(), crm?.close()]);
  });

  it('publishes its client metadata document, and signs in with its URL as client_id', async () => {
    const document = await request(t.url).get('/v1/mcp/oauth/client-metadata.json').expect(200);
    expect(document.body).toMatchObject({
      client_id: `${PUBLIC}/v1/mcp/oauth/client-metadata.json`,
      redirect_uris: [`${PUBLIC}/v1/mcp/oauth/callback`],
      token_endpoint_auth_method: 'none',
    });
    const refused = await request(t.url)
      .post('/mcp/tools/call')
      .set(master)
      .send({ name: 'crm-whoami', arguments: {} })
      .expect(401);
    const url = new URL(refused.body.error.details.authorization_url as string);
    expect(url.searchParams.get('client_id')).toBe(document.body.client_id);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC}/v1/mcp/oauth/callback`);
    expect(as.registrations).toEqual([]);

    url.searchParams.set('user', 'carol');
    const atServer = await fetch(url, { redirect: 'manual' });
    const back = atServer.headers.get('location') ?? '';
    expect(back.startsWith(`${PUBLIC}/v1/mcp/oauth/callback?`)).toBe(true);
    expect((await fetch(behindProxy(back))).status).toBe(200);
    const res = await request(t.url)
      .post('/mcp/tools/call')
      .set(master)
      .send({ name: 'crm-whoami', arguments: {} })
      .expect(200);
    expect(res.body.content[0].text).toBe('carol');
  });

  it('publishes no document without an https PROXY_BASE_URL', async () => {
    const other = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-upstream-oauth-cimd' },
    });
    try {
      const res = await request(other.url).get('/v1/mcp/oauth/client-metadata.json').expect(404);
      expect(res.body.error.message).toContain('PROXY_BASE_URL');
    } finally {
      await other.close();
    }
  });
});

/**
 * Replicas: the sign-in started on one replica is finished by another (the load balancer sends the browser's
 * return there), and the first one serves the user's calls with the new tokens soon after. On the embedded
 * database there is one process by construction: the same one serves both legs.
 */
describe('upstream OAuth across replicas (e2e)', () => {
  let db: TestDatabase;
  let one: TestApp;
  let two: TestApp | null = null;
  let as: AuthCodeFixture;
  let crm: McpFixture;

  beforeAll(async () => {
    as = await startAuthCodeFixture();
    crm = await whoamiUpstream(as);
    db = await provisionTestDatabase();
    const start = () =>
      createTestApp({
        rootModule: GatewayModule.forRoot,
        database: db.database,
        env: { MASTER_KEY, SALT_KEY: 'salt-upstream-oauth-replicas' },
      });
    one = await start();
    if (db.kind === 'postgres') two = await start();
  });

  afterAll(async () => {
    await two?.close();
    await one?.close();
    await db?.drop();
    await Promise.all([as?.close(), crm?.close()]);
  });

  it('a sign-in begun on one replica is finished on another, and both then call with the user token', async () => {
    const other = two ?? one;
    await request(one.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'crm', url: crm.url, oauth2_flow: 'authorization_code' })
      .expect(201);
    const created = await request(one.url)
      .post('/key/generate')
      .set(master)
      .send({ user_id: 'erin', object_permission: { mcp_servers: ['crm'] } })
      .expect(200);
    const erin = { Authorization: `Bearer ${created.body.key as string}` };
    const call = (app: TestApp) =>
      request(app.url).post('/mcp/tools/call').set(erin).send({ name: 'crm-whoami', arguments: {} });
    // The other replica knows the server (the registry change reached it).
    for (let i = 0; i < 50 && (await call(other)).status !== 401; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));

    const refused = await call(one).expect(401);
    const url = new URL(refused.body.error.details.authorization_url as string);
    url.searchParams.set('user', 'erin');
    const atServer = await fetch(url, { redirect: 'manual' });
    const back = (atServer.headers.get('location') ?? '').replace(one.url, other.url);
    expect((await fetch(back)).status).toBe(200);

    expect((await call(other).expect(200)).body.content[0].text).toBe('erin');
    let answer = '';
    for (let i = 0; i < 100 && answer !== 'erin'; i++) {
      const res = await call(one);
      answer = res.status === 200 ? (res.body.content[0].text as string) : '';
      if (answer !== 'erin') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer).toBe('erin');
  });
});
