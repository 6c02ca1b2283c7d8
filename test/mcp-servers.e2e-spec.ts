import { connect } from 'node:net';
import path from 'node:path';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import {
  closedPort,
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  startSseMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { McpRegistry } from '@app/mcp-registry';
import { probeMcpServer } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

const MASTER_KEY = 'sk-master-e2e-registry';
const SECRET = 'upstream-token-5f1d0c-never-shown';
const CONFIG_SECRET = 'config-token-9a8b7c-never-shown';

describe('MCP server registry and admin API (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let fixture: McpFixture;
  const admin = () => ({ Authorization: `Bearer ${MASTER_KEY}` });
  const bodies: string[] = [];
  const api = () => request(t.url);
  const remember = (res: request.Response) => {
    bodies.push(res.text);
    return res;
  };

  beforeAll(async () => {
    fixture = await startMcpFixture();
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-for-e2e', CONFIG_TOKEN: CONFIG_SECRET },
      configYaml: `
mcp_servers:
  cfg_echo:
    url: ${fixture.url}
    auth_type: bearer_token
    auth_value: os.environ/CONFIG_TOKEN
    mcp_access_groups: [beta, alpha]
general_settings:
  allow_stdio_from_api: true
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await fixture?.close();
  });

  describe('authentication', () => {
    it('refuses a request without a key (401)', async () => {
      const res = remember(await api().get('/v1/mcp/server').expect(401));
      expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', type: 'authentication_error' });
      expect(res.body.error.message).toContain('missing API key');
    });

    it('refuses a wrong key (401), in either header', async () => {
      remember(await api().get('/v1/mcp/server').set('Authorization', 'Bearer sk-wrong').expect(401));
      const res = remember(
        await api().get('/v1/mcp/server').set('x-litellm-api-key', 'sk-wrong').expect(401),
      );
      expect(res.body.error.message).toMatch(/^invalid API key: no such key/);
    });

    it('accepts the master key as x-litellm-api-key, with or without Bearer', async () => {
      await api().get('/v1/mcp/server').set('x-litellm-api-key', MASTER_KEY).expect(200);
      await api().get('/v1/mcp/server').set('x-litellm-api-key', `Bearer ${MASTER_KEY}`).expect(200);
    });

    it('refuses two Authorization headers (400)', async () => {
      // supertest and fetch merge duplicate headers: write the request by hand.
      const { port } = new URL(t.url);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.end(
            `GET /v1/mcp/server HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\n` +
              'Authorization: Bearer sk-other\r\nConnection: close\r\n\r\n',
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const status = Number(raw.split(' ')[1]);
      const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
      expect(status).toBe(400);
      expect(body).toContain('send the API key once');
    });
  });

  describe('CRUD', () => {
    let serverId: string;

    it('creates a server (201) and returns it without its secret', async () => {
      const res = remember(
        await api()
          .post('/v1/mcp/server')
          .set(admin())
          .send({
            server_name: 'db_echo',
            url: fixture.url,
            description: 'echo via the API',
            auth_type: 'bearer_token',
            auth_value: SECRET,
            static_headers: { 'X-Org': 'org-secret-value' },
            mcp_access_groups: ['beta', 'gamma'],
            timeout_ms: 5000,
          })
          .expect(201),
      );
      serverId = res.body.server_id;
      expect(serverId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body).toMatchObject({
        server_name: 'db_echo',
        alias: 'db_echo',
        transport: 'http',
        url: fixture.url,
        auth_type: 'bearer_token',
        has_credentials: true,
        static_header_names: ['X-Org'],
        source: 'db',
        created_by: 'master_key',
        updated_by: 'master_key',
        timeout_ms: 5000,
      });
      expect(res.body).not.toHaveProperty('auth_value');
      expect(res.body).not.toHaveProperty('credentials');
    });

    it('gets it by id, name and alias, with a live health result', async () => {
      for (const ref of [serverId, 'db_echo', 'DB_ECHO']) {
        const res = remember(await api().get(`/v1/mcp/server/${ref}`).set(admin()).expect(200));
        expect(res.body).toMatchObject({ server_id: serverId, status: 'healthy', health_check_error: null });
        expect(typeof res.body.last_health_check).toBe('string');
      }
    });

    it('sent the decrypted credential and static header to the upstream', () => {
      const sent = fixture.requestHeaders.filter((h) => h.authorization === `Bearer ${SECRET}`);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent[0]['x-org']).toBe('org-secret-value');
    });

    it('lists config and database servers with their source', async () => {
      const res = remember(await api().get('/v1/mcp/server').set(admin()).expect(200));
      const bySource = Object.fromEntries(
        res.body.map((s: { server_name: string; source: string }) => [s.server_name, s.source]),
      );
      expect(bySource).toEqual({ cfg_echo: 'config', db_echo: 'db' });
    });

    it('updates only the fields sent (202)', async () => {
      const res = remember(
        await api()
          .put('/v1/mcp/server')
          .set(admin())
          .send({ server_id: serverId, description: 'changed', alias: 'echo2' })
          .expect(202),
      );
      expect(res.body).toMatchObject({
        server_id: serverId,
        description: 'changed',
        alias: 'echo2',
        url: fixture.url,
        has_credentials: true,
        mcp_access_groups: ['beta', 'gamma'],
        timeout_ms: 5000,
        created_by: 'master_key',
      });
      await api().get('/v1/mcp/server/echo2').set(admin()).expect(200);
    });

    it('lists the access groups of all servers, sorted and unique', async () => {
      const res = await api().get('/v1/mcp/access_groups').set(admin()).expect(200);
      expect(res.body).toEqual({ access_groups: ['alpha', 'beta', 'gamma'] });
    });

    it('stores the credentials encrypted, never in plaintext', async () => {
      const dataSource = t.app.get<DataSource>(getDataSourceToken());
      const [row] = await dataSource.query<{ credentials: string }[]>(
        'SELECT credentials FROM mcp_server WHERE server_id = $1',
        [serverId],
      );
      expect(row.credentials).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
      expect(row.credentials).not.toContain(SECRET);
      expect(Buffer.from(row.credentials.slice(3), 'base64').toString('latin1')).not.toContain(SECRET);
    });

    it('deletes it (202), after which it is gone (404)', async () => {
      const res = await api().delete(`/v1/mcp/server/${serverId}`).set(admin()).expect(202);
      expect(res.body).toMatchObject({ deleted: true, server_id: serverId });
      const gone = await api().get(`/v1/mcp/server/${serverId}`).set(admin()).expect(404);
      expect(gone.body.error.code).toBe('MCP_SERVER_NOT_FOUND');
      await api().delete(`/v1/mcp/server/${serverId}`).set(admin()).expect(404);
      await api()
        .put('/v1/mcp/server')
        .set(admin())
        .send({ server_id: serverId, description: 'x' })
        .expect(404);
    });
  });

  describe('config servers', () => {
    it('are read-only: PUT and DELETE answer 403 saying they come from the config file', async () => {
      const list = await api().get('/v1/mcp/server').set(admin()).expect(200);
      const cfg = list.body.find((s: { server_name: string }) => s.server_name === 'cfg_echo');
      expect(cfg).toMatchObject({ source: 'config', has_credentials: true });
      const put = await api()
        .put('/v1/mcp/server')
        .set(admin())
        .send({ server_id: cfg.server_id, description: 'x' });
      expect(put.status).toBe(403);
      expect(put.body.error).toMatchObject({ code: 'MCP_SERVER_READ_ONLY', type: 'permission_error' });
      expect(put.body.error.message).toContain('config file');
      const del = await api().delete(`/v1/mcp/server/${cfg.server_id}`).set(admin()).expect(403);
      expect(del.body.error.message).toContain('config.yaml');
    });
  });

  describe('validation', () => {
    const create = (body: object) => api().post('/v1/mcp/server').set(admin()).send(body);

    it('refuses an alias already used, naming the other server (409)', async () => {
      const res = await create({ server_name: 'other', alias: 'cfg_echo', url: fixture.url }).expect(409);
      expect(res.body.error).toMatchObject({ code: 'MCP_SERVER_CONFLICT', param: 'alias' });
      expect(res.body.error.message).toContain('cfg_echo');
      await create({ server_name: 'CFG_ECHO', url: fixture.url }).expect(409);
    });

    it('refuses an alias with "-" (400, field named)', async () => {
      const res = await create({ server_name: 'ok', alias: 'has-dash', url: fixture.url }).expect(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'alias' });
      expect(res.body.error.message).toContain('no "-"');
    });

    it('refuses headers that are not end-to-end, and header values with line breaks (400, field named)', async () => {
      const host = await create({
        server_name: 'hdr1',
        url: fixture.url,
        static_headers: { Host: 'evil' },
      }).expect(400);
      expect(host.body.error).toMatchObject({ code: 'MCP_SERVER_INVALID', param: 'static_headers' });
      expect(host.body.error.message).toContain('static_headers may not set Host');
      const crlf = await create({
        server_name: 'hdr2',
        url: fixture.url,
        static_headers: { 'X-Org': 'a\r\nX-Injected: 1' },
      }).expect(400);
      expect(crlf.body.error.message).toContain('line break');
      const framing = await create({
        server_name: 'hdr3',
        url: fixture.url,
        extra_headers: ['transfer-encoding', 'Mcp-Session-Id'],
      }).expect(400);
      expect(framing.body.error.message).toContain('extra_headers may not name transfer-encoding');
      expect(framing.body.error.message).toContain('Mcp-Session-Id');
    });

    it('refuses a stdio server without a command (400)', async () => {
      const res = await create({ server_name: 'stdio_one', transport: 'stdio' }).expect(400);
      expect(res.body.error).toMatchObject({ code: 'MCP_SERVER_INVALID', param: 'command' });
    });

    it('refuses a stdio command outside the allowlist (400)', async () => {
      const res = await create({ server_name: 'stdio_two', command: '/bin/sh', args: ['-c', 'id'] }).expect(
        400,
      );
      expect(res.body.error.message).toContain('"/bin/sh" is not allowed');
    });

    it('refuses an http server without an http(s) url (400)', async () => {
      await create({ server_name: 'nourl', transport: 'http' }).expect(400);
      const res = await create({ server_name: 'ftp', url: 'ftp://x/mcp' }).expect(400);
      expect(res.body.error.message).toContain('http:// or https://');
    });

    it('refuses unknown fields and an out-of-range timeout (400)', async () => {
      const res = await create({ server_name: 'x1', url: fixture.url, surprise: 1 }).expect(400);
      expect(res.body.error.message).toContain('property surprise should not exist');
      const slow = await create({ server_name: 'x2', url: fixture.url, timeout_ms: 600_001 }).expect(400);
      expect(slow.body.error.message).toContain('at most 600000');
    });
  });

  describe('health', () => {
    it('reports a reachable server healthy and a closed port unhealthy, within the timeout', async () => {
      const port = await closedPort();
      const dead = await api()
        .post('/v1/mcp/server')
        .set(admin())
        .send({ server_name: 'dead', url: `http://127.0.0.1:${port}/mcp`, timeout_ms: 2000 })
        .expect(201);
      const started = Date.now();
      const res = await api()
        .get('/v1/mcp/server/health')
        .query({ server_ids: ['cfg_echo', dead.body.server_id] })
        .set(admin())
        .expect(200);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body).toEqual([
        expect.objectContaining({ status: 'healthy', latency_ms: expect.any(Number) }),
        expect.objectContaining({
          server_id: dead.body.server_id,
          status: 'unhealthy',
          error: expect.any(String),
        }),
      ]);
      const listed = await api().get('/v1/mcp/server').set(admin()).expect(200);
      expect(listed.body.find((s: { server_name: string }) => s.server_name === 'dead').status).toBe(
        'unhealthy',
      );
    });

    it('checks an SSE server, sending its credential on the stream and on the messages', async () => {
      const sse = await startSseMcpFixture();
      try {
        const created = await api()
          .post('/v1/mcp/server')
          .set(admin())
          .send({ server_name: 'sse_echo', url: sse.url, auth_type: 'api_key', auth_value: SECRET })
          .expect(201);
        expect(created.body.transport).toBe('sse');
        const res = await api().get('/v1/mcp/server/sse_echo').set(admin()).expect(200);
        expect(res.body).toMatchObject({ status: 'healthy', health_check_error: null });
        expect(sse.requestHeaders.length).toBeGreaterThanOrEqual(2);
        for (const headers of sse.requestHeaders) expect(headers['x-api-key']).toBe(SECRET);
      } finally {
        await sse.close();
      }
    });

    it('checks a stdio server by starting it, with its env', async () => {
      const created = await api()
        .post('/v1/mcp/server')
        .set(admin())
        .send({
          server_name: 'stdio_echo',
          command: 'node',
          args: [path.resolve('test/fixtures/stdio-echo-server.mjs')],
          env: { FIXTURE_TOOL_NAME: 'secret_named_tool' },
        })
        .expect(201);
      expect(created.body).toMatchObject({ transport: 'stdio', env_names: ['FIXTURE_TOOL_NAME'] });
      const res = await api()
        .post('/v1/mcp/server/test')
        .set(admin())
        .send({
          command: 'node',
          args: [path.resolve('test/fixtures/stdio-echo-server.mjs')],
          env: { FIXTURE_TOOL_NAME: 'from_env' },
        })
        .expect(200);
      expect(res.body).toMatchObject({ status: 'healthy', tools: [{ name: 'from_env' }] });
      const health = await api().get('/v1/mcp/server/stdio_echo').set(admin()).expect(200);
      expect(health.body).toMatchObject({ status: 'healthy' });
      // The env went through the database encrypted and came back whole into the registry snapshot.
      const stored = t.app.get(McpRegistry).find('stdio_echo');
      expect(stored?.secrets.env).toEqual({ FIXTURE_TOOL_NAME: 'secret_named_tool' });
      const probe = await probeMcpServer(stored!, 10_000);
      expect(probe.tools.map((tool) => tool.name)).toEqual(['secret_named_tool']);
    });

    it('tests a definition without saving it', async () => {
      const res = await api().post('/v1/mcp/server/test').set(admin()).send({ url: fixture.url }).expect(200);
      expect(res.body).toMatchObject({
        status: 'healthy',
        tools: [{ name: 'echo', description: 'Echoes its message back' }],
      });
      const list = await api().get('/v1/mcp/server').set(admin()).expect(200);
      expect(list.body.map((s: { server_name: string }) => s.server_name)).not.toContain('draft');
    });
  });

  it('never shows a secret in a response body or a log line', () => {
    const everything = `${bodies.join('\n')}\n${t.logs.text()}`;
    expect(bodies.length).toBeGreaterThan(5);
    for (const secret of [SECRET, CONFIG_SECRET, 'org-secret-value', MASTER_KEY, 'salt-for-e2e']) {
      expect(everything).not.toContain(secret);
    }
  });
});
