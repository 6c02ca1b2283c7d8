import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../../apps/gateway/src/gateway.module.js';

/**
 * The attack run of issue 15 as the project's own suite, over every route the application has (read from
 * its router, so a new route is attacked by default, and fails here until its access is declared below):
 * - bad input (NUL, unpaired surrogates, deep nesting, malformed and mistyped bodies) on every route: never a
 *   5xx, always the API's error shape;
 * - access on every route × every role (no key, wrong key, master, proxy_admin, viewer, two team users);
 * - another team's objects: not found, as if missing;
 * - origins on every route that reaches an upstream;
 * - secret canaries set as every kind of credential, then searched for in every response body and log line.
 * Each part prints what it tried and how many were refused as expected.
 */
const MASTER_KEY = 'sk-master-matrix-canary-0c1f7e';
const CANARY = {
  auth: 'canary-auth-9d41b2c7',
  static: 'canary-static-3e8a6f10',
  env: 'canary-env-57c0d9e2',
  userinfo: 'canary-userinfo-a61f04bb',
  testRoute: 'canary-test-route-7b2e91d4',
  passed: 'canary-passed-header-c3d5e7f9',
  clientSecret: 'canary-client-secret-1a2b3c4d',
  token: 'canary-oauth-token-5e6f7a8b',
};

type Access = 'public' | 'any_key' | 'admin' | 'admin_read';
interface RouteSpec {
  access: Access;
  /** Reaches an upstream: the origin rule applies. */
  upstream?: boolean;
  /** Opens an event stream on success (read headers only). */
  stream?: boolean;
}

/** Every route's declared access. A route the app has and this table lacks fails the suite. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /': { access: 'public' },
  'GET /health/liveliness': { access: 'public' },
  'GET /health/liveness': { access: 'public' },
  'GET /health/readiness': { access: 'public' },
  'GET /v1/mcp/server': { access: 'any_key' },
  'GET /v1/mcp/server/health': { access: 'any_key', upstream: true },
  'GET /v1/mcp/server/:id': { access: 'any_key', upstream: true },
  'POST /v1/mcp/server': { access: 'admin' },
  'PUT /v1/mcp/server': { access: 'admin' },
  'DELETE /v1/mcp/server/:id': { access: 'admin' },
  'POST /v1/mcp/server/test': { access: 'admin', upstream: true },
  'GET /v1/mcp/access_groups': { access: 'any_key' },
  'GET /v1/mcp/sessions': { access: 'admin_read' },
  'GET /v1/mcp/oauth/callback': { access: 'public' },
  'GET /v1/mcp/oauth/client-metadata.json': { access: 'public' },
  'GET /v1/mcp/user-credentials': { access: 'any_key' },
  'GET /v1/mcp/server/:id/oauth-user-credential/status': { access: 'any_key' },
  'POST /v1/mcp/server/:id/oauth/authorize': { access: 'any_key', upstream: true },
  'DELETE /v1/mcp/server/:id/oauth-user-credential': { access: 'any_key' },
  'GET /v1/mcp/server/:id/oauth-users': { access: 'admin_read' },
  'DELETE /v1/mcp/server/:id/oauth-users/:owner': { access: 'admin' },
  'GET /metrics': { access: 'admin_read' },
  'GET /v1/models': { access: 'any_key' },
  'GET /models': { access: 'any_key' },
  'POST /v1/chat/completions': { access: 'any_key' },
  'POST /chat/completions': { access: 'any_key' },
  'POST /v1/responses': { access: 'any_key' },
  'POST /responses': { access: 'any_key' },
  'GET /v1/mcp/logs': { access: 'admin_read' },
  'GET /v1/admin/events': { access: 'admin_read' },
  'GET /v1/mcp/spend': { access: 'admin_read' },
  'GET /v1/model/logs': { access: 'admin_read' },
  'POST /team/new': { access: 'admin' },
  'POST /team/update': { access: 'admin' },
  'POST /team/delete': { access: 'admin' },
  'GET /team/info': { access: 'admin_read' },
  'GET /team/list': { access: 'admin_read' },
  'POST /key/generate': { access: 'admin' },
  'POST /key/update': { access: 'admin' },
  'POST /key/delete': { access: 'admin' },
  'GET /key/info': { access: 'any_key' },
  'GET /key/list': { access: 'admin_read' },
  'POST /key/regenerate': { access: 'admin' },
  'POST /key/:key/regenerate': { access: 'admin' },
  'POST /key/block': { access: 'admin' },
  'POST /key/unblock': { access: 'admin' },
  'GET /mcp/enabled': { access: 'any_key' },
  'GET /mcp/tools/list': { access: 'any_key', upstream: true },
  'GET /mcp-rest/tools/list': { access: 'any_key', upstream: true },
  'GET /v1/mcp/tools': { access: 'any_key', upstream: true },
  'POST /mcp/tools/call': { access: 'any_key', upstream: true },
  'POST /mcp-rest/tools/call': { access: 'any_key', upstream: true },
  'GET /mcp/sse': { access: 'any_key', upstream: true, stream: true },
  'GET /sse': { access: 'any_key', upstream: true, stream: true },
  'POST /mcp/sse/messages': { access: 'any_key', upstream: true },
  'ALL /mcp': { access: 'any_key', upstream: true },
  'ALL /mcp/:servers': { access: 'any_key', upstream: true },
  'ALL /:alias/mcp': { access: 'any_key', upstream: true },
  'GET /ui': { access: 'public' },
  'GET /ui/assets/:name': { access: 'public' },
  'POST /ui/session': { access: 'public' },
  'GET /ui/session': { access: 'any_key' },
  'DELETE /ui/session': { access: 'public' },
};

interface Route {
  method: string;
  path: string;
  spec: RouteSpec;
}

interface Sent {
  status: number;
  text: string;
  headers: Headers;
}

interface Tally {
  tried: number;
  refused: number;
}

describe('security matrix (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let fixture: McpFixture;
  let leaky: HttpServer;
  let routes: Route[] = [];
  const keys: Record<string, string> = {};
  const bodies: string[] = [];
  const tallies: Record<string, Tally> = {};
  const tally = (part: string, refused: boolean) => {
    const entry = (tallies[part] ??= { tried: 0, refused: 0 });
    entry.tried++;
    if (refused) entry.refused++;
  };

  /** One request; an event stream is not read (its headers say enough). Every body is kept for the scan. */
  async function send(
    method: string,
    route: string,
    options: {
      key?: string | null;
      body?: string;
      type?: string;
      origin?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Sent> {
    const headers: Record<string, string> = {
      Accept: 'application/json, text/event-stream',
      ...options.headers,
    };
    if (options.key) headers.Authorization = `Bearer ${options.key}`;
    if (options.type) headers['Content-Type'] = options.type;
    if (options.origin) headers.Origin = options.origin;
    const res = await fetch(`${t.url}${route}`, {
      method,
      headers,
      body: options.body,
      signal: AbortSignal.timeout(20_000),
    });
    let text = '';
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) await res.body?.cancel();
    else text = await res.text();
    bodies.push(text);
    return { status: res.status, text, headers: res.headers };
  }

  beforeAll(async () => {
    fixture = await startMcpFixture();
    // An upstream that refuses everything, quoting every header it got (as many 401/403 bodies do). Its
    // /token issues the token canary to client `good` and refuses others quoting their whole request.
    leaky = createServer((req, res) => {
      if (req.url === '/token') {
        let form = '';
        req.on('data', (chunk: Buffer) => (form += chunk.toString()));
        req.on('end', () => {
          if (form.includes('client_id=good'))
            res
              .writeHead(200, { 'Content-Type': 'application/json' })
              .end(JSON.stringify({ access_token: CANARY.token, token_type: 'Bearer' }));
          else res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`bad request: ${form}`);
        });
        return;
      }
      req.resume();
      res
        .writeHead(403, { 'Content-Type': 'text/plain' })
        .end(`forbidden for ${JSON.stringify(req.headers)}`);
    });
    await new Promise<void>((resolve) => leaky.listen(0, '127.0.0.1', resolve));
    const leakyUrl = `http://127.0.0.1:${(leaky.address() as AddressInfo).port}/mcp`;
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-matrix' },
      configYaml: `
mcp_servers:
  srv_a:
    url: ${fixture.url}
    mcp_access_groups: [team_a]
  srv_b:
    url: ${fixture.url}
    mcp_access_groups: [team_b]
  canary_stdio:
    command: node
    args: [${path.resolve('test/fixtures/stdio-echo-server.mjs')}]
    env: { CANARY_VALUE: ${CANARY.env} }
    allow_all_keys: true
`,
    });
    const admin = async (route: string, body: unknown) => {
      const res = await send('POST', route, {
        key: MASTER_KEY,
        body: JSON.stringify(body),
        type: 'application/json',
      });
      expect([route, res.status]).toEqual([route, route === '/v1/mcp/server' ? 201 : 200]);
      return JSON.parse(res.text) as { key?: string };
    };
    await admin('/v1/mcp/server', {
      server_name: 'canary_http',
      url: leakyUrl.replace('http://', `http://user:${CANARY.userinfo}@`),
      auth_type: 'bearer_token',
      auth_value: CANARY.auth,
      static_headers: { 'x-canary': CANARY.static },
      allow_all_keys: true,
    });
    for (const client of ['good', 'bad'])
      await admin('/v1/mcp/server', {
        server_name: `canary_oauth_${client}`,
        url: leakyUrl,
        auth_type: 'oauth2',
        client_id: client,
        client_secret: CANARY.clientSecret,
        token_url: leakyUrl.replace('/mcp', '/token'),
        allow_all_keys: true,
      });
    await admin('/team/new', { team_id: 'team_a', object_permission: { mcp_access_groups: ['team_a'] } });
    await admin('/team/new', { team_id: 'team_b', object_permission: { mcp_access_groups: ['team_b'] } });
    keys.admin = (await admin('/key/generate', { key_alias: 'm_admin', role: 'proxy_admin' })).key!;
    keys.viewer = (await admin('/key/generate', { key_alias: 'm_viewer', role: 'proxy_admin_viewer' })).key!;
    keys.userA = (await admin('/key/generate', { key_alias: 'm_user_a', team_id: 'team_a' })).key!;
    keys.userB = (await admin('/key/generate', { key_alias: 'm_user_b', team_id: 'team_b' })).key!;

    // The application's routes, from its router.
    const router = (
      t.app.getHttpAdapter().getInstance() as {
        router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
      }
    ).router;
    routes = router.stack.flatMap((layer) => {
      if (!layer.route) return [];
      const methods = Object.keys(layer.route.methods).map((m) => m.toUpperCase());
      const method = methods.includes('_ALL') || methods.length > 5 ? 'ALL' : methods[0];
      const spec = ROUTES[`${method} ${layer.route.path}`];
      return [{ method, path: layer.route.path, spec }];
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await fixture?.close();
    await new Promise((resolve) => leaky?.close(resolve));
    for (const [part, { tried, refused }] of Object.entries(tallies))
      process.stdout.write(`security matrix, ${part}: ${tried} tried, ${refused} refused as expected\n`);
  });

  /** A concrete path for a route: its parameters filled with `value`. */
  const fill = (route: string, value: string) => route.replace(/:[a-z_]+/g, value);
  /** The methods a route is tried with. */
  const methodsOf = (route: Route) => (route.method === 'ALL' ? ['GET', 'POST', 'DELETE'] : [route.method]);

  it('knows every route of the application (a new route must declare its access here)', () => {
    expect(routes.length).toBeGreaterThan(30);
    const undeclared = routes.filter((r) => !r.spec).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
    const gone = Object.keys(ROUTES).filter((k) => !routes.some((r) => `${r.method} ${r.path}` === k));
    expect(gone).toEqual([]);
  });

  describe('bad input on every route: a 4xx naming the problem, never a 5xx', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const bodies: [string, string, string][] = [
      [
        'NUL in a string',
        '{"team_id":"a\\u0000b","key":"x\\u0000","server_name":"\\u0000","name":"a\\u0000"}',
        'application/json',
      ],
      ['NUL in a key', '{"a\\u0000b":1}', 'application/json'],
      [
        'unpaired surrogate',
        '{"team_id":"\\ud800","key_alias":"x\\udfff","name":"\\ud800"}',
        'application/json',
      ],
      ['deep metadata', `{"metadata":${deep(5000)}}`, 'application/json'],
      ['deep arguments', `{"name":"srv_a-echo","arguments":${deepObject(5000)}}`, 'application/json'],
      ['malformed JSON', '{"team_id":', 'application/json'],
      ['a JSON array', '[1,2,3]', 'application/json'],
      ['a JSON string', '"x"', 'application/json'],
      ['null', 'null', 'application/json'],
      ['text/plain', 'team_id=x', 'text/plain'],
      [
        'wrong types',
        '{"team_id":{"$ne":1},"key":[1],"max_budget":"x","metadata":"x","arguments":"x","name":7}',
        'application/json',
      ],
    ];
    const paths: [string, string][] = [
      ['NUL in the path', '%00x'],
      ['an invalid UTF-8 sequence in the path', '%ED%A0%80'],
      ['a key-shaped path', 'sk-canary-path-0123456789'],
    ];
    const queries: [string, string][] = [
      ['NUL in the query', 'key=%00&team_id=%00&key_alias=%00&server_ids=%00&sessionId=%00&page=%00'],
      ['unpaired surrogate in the query', 'team_id=%ED%A0%80&key=%ED%A0%80'],
      ['repeated and bracketed filters', 'team_id[]=x&key_alias=a&key_alias=b&page[x]=1'],
    ];

    const check = (what: string, res: Sent) => {
      // A parameter the route does not read is ignored (answered < 400); anything it reads is refused.
      if (res.status < 400) tally('bad input ignored by routes that do not read it', true);
      else tally('bad input', res.status < 500);
      expect([what, res.status < 500]).toEqual([what, true]);
      if (res.status >= 400 && res.text.startsWith('{')) {
        const parsed = JSON.parse(res.text) as { error?: { message?: unknown; code?: unknown } };
        expect([what, typeof parsed.error?.message]).toEqual([what, 'string']);
      }
      expect(res.text).not.toMatch(/at [\w.<>]+ \(|stack|Maximum call stack|invalid byte sequence/);
    };

    it('in bodies, on every route', async () => {
      for (const route of routes.filter((r) => !r.spec.stream))
        for (const method of methodsOf(route).filter((m) => m !== 'GET'))
          for (const [what, body, type] of bodies)
            check(
              `${method} ${route.path}: ${what}`,
              await send(method, fill(route.path, 'srv_a'), { key: MASTER_KEY, body, type }),
            );
    });

    it('in paths and queries, on every route', async () => {
      for (const route of routes)
        for (const method of methodsOf(route)) {
          for (const [what, value] of paths)
            if (route.path.includes(':'))
              check(
                `${method} ${route.path}: ${what}`,
                await send(method, fill(route.path, value), { key: MASTER_KEY }),
              );
          for (const [what, query] of queries)
            check(
              `${method} ${route.path}: ${what}`,
              await send(method, `${fill(route.path, 'srv_a')}?${query}`, { key: MASTER_KEY }),
            );
        }
    });

    it('names the field it refuses', async () => {
      const nul = await send('POST', '/team/new', {
        key: MASTER_KEY,
        body: '{"team_id":"t","metadata":{"note":"a\\u0000b"}}',
        type: 'application/json',
      });
      expect(nul.status).toBe(400);
      expect(JSON.parse(nul.text)).toMatchObject({
        error: { code: 'BAD_REQUEST', param: 'body.metadata.note' },
      });
      const deepArgs = await send('POST', '/mcp/tools/call', {
        key: MASTER_KEY,
        body: `{"name":"srv_a-echo","arguments":${deepObject(5000)}}`,
        type: 'application/json',
      });
      expect(deepArgs.status).toBe(400);
      expect(JSON.parse(deepArgs.text).error.message).toContain('nested more than 64 levels deep');
      const query = await send('GET', '/key/info?key=%00', { key: MASTER_KEY });
      expect(JSON.parse(query.text)).toMatchObject({ error: { param: 'query.key' } });
    });
  });

  describe('access on every route × every role', () => {
    const roles = ['none', 'wrong', 'master', 'admin', 'viewer', 'userA', 'userB'] as const;
    const keyOf = (role: (typeof roles)[number]) =>
      role === 'none'
        ? null
        : role === 'wrong'
          ? 'sk-wrong-key-0000000000'
          : role === 'master'
            ? MASTER_KEY
            : keys[role];

    /** Whether the role may pass the route's access check (what it then finds is another matter). */
    function allowed(spec: RouteSpec, method: string, role: (typeof roles)[number]): boolean {
      if (spec.access === 'public') return true;
      if (role === 'none' || role === 'wrong') return false;
      if (spec.access === 'any_key') return true;
      if (role === 'master' || role === 'admin') return true;
      return role === 'viewer' && (spec.access === 'admin_read' || method === 'GET');
    }

    it('refuses whoever may not, and lets through whoever may', async () => {
      // Writes name nothing that exists, so an admin that passes changes nothing.
      const body = JSON.stringify({
        key: 'sk-no-such-key-000000',
        keys: ['sk-no-such-key-000000'],
        team_id: 'no_such_team',
        team_ids: ['no_such_team'],
        server_id: '00000000-0000-4000-8000-000000000000',
      });
      for (const route of routes.filter((r) => !r.spec.stream))
        for (const method of methodsOf(route))
          for (const role of roles) {
            const res = await send(method, fill(route.path, 'no_such_thing'), {
              key: keyOf(role),
              body: method === 'GET' ? undefined : body,
              type: method === 'GET' ? undefined : 'application/json',
            });
            const may = allowed(route.spec, method, role);
            const refusedStatus = role === 'none' || role === 'wrong' ? 401 : 403;
            const what = `${role} ${method} ${route.path} -> ${res.status}`;
            if (may)
              expect([what, res.status === 401 || res.status === 403 || res.status >= 500]).toEqual([
                what,
                false,
              ]);
            else expect([what, res.status]).toEqual([what, refusedStatus]);
            tally('access', may || res.status === refusedStatus);
          }
      // Streams: refused before anything opens.
      for (const route of routes.filter((r) => r.spec.stream))
        for (const role of ['none', 'wrong'] as const) {
          const res = await send('GET', route.path, { key: keyOf(role) });
          expect(res.status).toBe(401);
          tally('access', true);
        }
    });

    it("another team's objects are not found, exactly as missing ones", async () => {
      const asB = { key: keys.userB };
      const pairs: [string, string][] = [
        ['/v1/mcp/server/srv_a', '/v1/mcp/server/no_such_server'],
        ['/v1/mcp/server/health?server_ids=srv_a', '/v1/mcp/server/health?server_ids=no_such_server'],
        ['/key/info?key=m_user_a', '/key/info?key=no_such_key'],
      ];
      for (const [foreign, missing] of pairs) {
        const [f, m] = [await send('GET', foreign, asB), await send('GET', missing, asB)];
        expect([foreign, f.status]).toEqual([foreign, m.status]);
        expect(f.status).toBe(404);
        tally('foreign team', true);
      }
      const call = await send('POST', '/mcp/tools/call', {
        ...asB,
        body: JSON.stringify({ name: 'srv_a-echo', arguments: { message: 'x' } }),
        type: 'application/json',
      });
      expect([403, 404]).toContain(call.status);
      tally('foreign team', true);
      const listed = await send('GET', '/mcp/tools/list', asB);
      expect(listed.text).not.toContain('srv_a-');
      tally('foreign team', true);
      const initialize = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'm', version: '1' } },
      });
      const pairsMcp: [string, string][] = [
        ['/srv_a/mcp', '/no_such_server/mcp'],
        ['/mcp/srv_a', '/mcp/no_such_server'],
      ];
      for (const [foreign, missing] of pairsMcp) {
        const f = await send('POST', foreign, { ...asB, body: initialize, type: 'application/json' });
        const m = await send('POST', missing, { ...asB, body: initialize, type: 'application/json' });
        const shape = (text: string, name: string) =>
          text
            .split(name)
            .join('X')
            .replace(/"request_id":"[^"]*"/, '');
        expect([foreign, f.status, shape(f.text, 'srv_a')]).toEqual([
          foreign,
          m.status,
          shape(m.text, 'no_such_server'),
        ]);
        expect(f.status).toBeGreaterThanOrEqual(400);
        tally('foreign team', true);
      }
    });
  });

  describe('origins on every route that reaches an upstream', () => {
    const hostile = [
      'http://evil.example',
      'https://evil.example:443',
      'null',
      'http://localhost.evil.example',
      'http://127.0.0.1.evil.example',
      'HTTP://EVIL.EXAMPLE',
      'file://',
    ];

    it('refuses foreign origins (403) and admits loopback ones', async () => {
      for (const route of routes.filter((r) => r.spec.upstream))
        for (const method of methodsOf(route)) {
          for (const origin of hostile) {
            const res = await send(method, fill(route.path, 'srv_a'), {
              key: MASTER_KEY,
              origin,
              body: method === 'GET' ? undefined : '{}',
              type: method === 'GET' ? undefined : 'application/json',
            });
            const what = `${method} ${route.path} from ${origin}`;
            expect([what, res.status]).toEqual([what, 403]);
            tally('origins', true);
          }
          const local = await send(method, fill(route.path, 'srv_a'), {
            key: MASTER_KEY,
            origin: 'http://localhost:5173',
            body: method === 'GET' ? undefined : '{}',
            type: method === 'GET' ? undefined : 'application/json',
          });
          expect([`${method} ${route.path} from loopback`, local.status === 403]).toEqual([
            `${method} ${route.path} from loopback`,
            false,
          ]);
        }
    });
  });

  describe('secret canaries', () => {
    it('make every path that carries upstream text run', async () => {
      for (const role of ['master', 'admin', 'viewer', 'userA'] as const) {
        const key = role === 'master' ? MASTER_KEY : keys[role];
        await send('GET', '/v1/mcp/server', { key });
        await send('GET', '/v1/mcp/server/canary_http', { key });
        await send('GET', '/v1/mcp/server/canary_stdio', { key });
        for (const client of ['good', 'bad']) {
          await send('GET', `/v1/mcp/server/canary_oauth_${client}`, { key });
          await send('POST', '/mcp/tools/call', {
            key,
            body: JSON.stringify({ name: `canary_oauth_${client}-anything`, arguments: {} }),
            type: 'application/json',
          });
        }
        await send('GET', '/v1/mcp/server/health', { key });
        await send('GET', '/mcp/tools/list', { key });
        await send('GET', '/v1/mcp/tools', { key });
        await send('POST', '/mcp/tools/call', {
          key,
          body: JSON.stringify({ name: 'canary_http-anything', arguments: {} }),
          type: 'application/json',
        });
        // A credential the caller passes through to the upstream (which echoes it).
        await send('POST', '/mcp/tools/call', {
          key,
          body: JSON.stringify({ name: 'canary_http-anything', arguments: {} }),
          type: 'application/json',
          headers: { 'x-mcp-canary_http-authorization': `Bearer ${CANARY.passed}` },
        });
        await send('POST', '/mcp-rest/tools/call', {
          key,
          body: JSON.stringify({ server_id: 'canary_http', name: 'anything', arguments: {} }),
          type: 'application/json',
        });
      }
      await send('POST', '/v1/mcp/server/test', {
        key: MASTER_KEY,
        body: JSON.stringify({
          url: `http://127.0.0.1:${(leaky.address() as AddressInfo).port}/mcp`,
          auth_type: 'api_key',
          auth_value: CANARY.testRoute,
        }),
        type: 'application/json',
      });
      expect(bodies.length).toBeGreaterThan(500);
    });

    it('appear in no response body and no log line of the whole matrix', () => {
      const canaries = [...Object.values(CANARY), MASTER_KEY, ...Object.values(keys)];
      const logs = t.logs.lines;
      for (const canary of canaries) {
        // Generated keys are returned once, by /key/generate: only the logs are searched for them.
        const inBodies = Object.values(keys).includes(canary) ? [] : bodies.filter((b) => b.includes(canary));
        const inLogs = logs.filter((line) => line.includes(canary));
        tally('canaries', inBodies.length === 0 && inLogs.length === 0);
        expect([canary, inBodies.slice(0, 2), inLogs.slice(0, 2)]).toEqual([canary, [], []]);
      }
      expect(logs.length).toBeGreaterThan(100);
    });
  });
});
