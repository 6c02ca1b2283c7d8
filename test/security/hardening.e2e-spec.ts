import http from 'node:http';
import net from 'node:net';
import { DataSource } from 'typeorm';
import request from 'supertest';
import {
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../../apps/gateway/src/gateway.module.js';
import { exposedName } from '../../libs/tool-proxy/src/catalog/naming.js';

/**
 * Issue 15, items 9 to 11, each as the attack run found it: legacy SSE messages answered in plain text, an
 * empty 431, bodies of the wrong type silently ignored, a query filter dropped by `name[]=`, two listed tools
 * under one name, URL userinfo stored and shown in plain text.
 */
const MASTER_KEY = 'sk-master-e2e-hardening';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const USERINFO_PW = 'canary-userinfo-pw-4e1d';
const LEGACY_PW = 'canary-legacy-pw-92ab';
const MAX = 24;

/** Opens a legacy SSE session on the gateway and returns its message endpoint (and a way to close it). */
function openSse(base: string): Promise<{ endpoint: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${base}/mcp/sse`,
      { headers: { ...master, Accept: 'text/event-stream' } },
      (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const match = /event: endpoint\r?\ndata: (\S+)/.exec(buffer);
          if (match) resolve({ endpoint: match[1], close: () => req.destroy() });
        });
      },
    );
    req.on('error', reject);
  });
}

/** Sends a raw request (headers larger than supertest would build) and returns status and body. */
function raw(base: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/v1/mcp/server`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('hardening: items 9 to 11 (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let fixture: McpFixture;
  let clashing: McpFixture;
  const longName = 'a_very_long_tool_name_indeed';
  let literalName: string;

  beforeAll(async () => {
    fixture = await startMcpFixture();
    db = await provisionTestDatabase({ persistent: true });
    // A tool literally named like the shortened form of another (found with the real naming rule).
    literalName = exposedName('clash', longName, MAX).slice('clash-'.length);
    clashing = await startMcpFixture({
      tools: [longName, literalName, 'echo', 'echo'].map((name) => ({
        name,
        inputSchema: { type: 'object' as const },
      })),
    });
    // A row written before userinfo moved out of the URL (plain text in the url column).
    const before = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-hardening' },
    });
    await request(before.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'legacy', url: fixture.url })
      .expect(201);
    const legacyUrl = fixture.url.replace('http://', `http://old:${LEGACY_PW}@`);
    await before.app
      .get(DataSource)
      .query(`UPDATE mcp_server SET url = $1 WHERE server_name = 'legacy'`, [legacyUrl]);
    await before.close();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-hardening' },
      configYaml: `
mcp_servers:
  clash:
    url: ${clashing.url}
general_settings:
  max_tool_name_length: ${MAX}
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await fixture?.close();
    await clashing?.close();
  });

  const api = () => request(t.url);

  describe('item 9: answers in the API shape', () => {
    it('legacy SSE messages: bad JSON-RPC gets a JSON-RPC error, not plain text', async () => {
      const sse = await openSse(t.url);
      try {
        const cases: [unknown, string, number][] = [
          [{ hello: 'world' }, 'application/json', 400],
          [[{ jsonrpc: '2.0', id: 1, method: 'ping' }], 'application/json', 400],
          [{ jsonrpc: '2.0', id: 2, method: 'tools/list', params: 'x' }, 'application/json', 400],
          ['{"jsonrpc":"2.0","id":3,"method":"ping"}', 'text/plain', 415],
        ];
        for (const [body, type, status] of cases) {
          const res = await api()
            .post(sse.endpoint)
            .set(master)
            .set('Content-Type', type)
            .send(typeof body === 'string' ? body : JSON.stringify(body))
            .expect(status);
          expect(res.headers['content-type']).toContain('application/json');
          const answer = JSON.parse(res.text) as {
            jsonrpc: string;
            error: { code: number; message: string };
          };
          expect(answer.jsonrpc).toBe('2.0');
          expect(answer.error.message).not.toContain('[object Object]');
        }
        // The session still works.
        await api()
          .post(sse.endpoint)
          .set(master)
          .send({ jsonrpc: '2.0', id: 9, method: 'ping' })
          .expect(202);
      } finally {
        sse.close();
      }
    });

    it('headers over the limit: 431 with a JSON error body', async () => {
      const res = await raw(t.url, { ...master, 'x-padding': 'p'.repeat(20_000) });
      expect(res.status).toBe(431);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'HEADERS_TOO_LARGE', param: 'headers' } });
    });

    it('a malformed request line: 400 with a JSON error body', async () => {
      const { port } = new URL(t.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () =>
          socket.write('GET /v1/mcp/server HTTP/1.1 extra words\r\nHost: x\r\n\r\n'),
        );
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(head).toContain('Content-Type: application/json');
      expect(JSON.parse(body)).toMatchObject({
        error: { code: 'BAD_REQUEST', message: expect.stringContaining('request line') },
      });
    });

    it('a body that is not JSON on a route that reads one: 415, nothing created', async () => {
      for (const path of ['/team/new', '/key/generate']) {
        const res = await api()
          .post(path)
          .set(master)
          .set('Content-Type', 'text/plain')
          .send('team_id=oops')
          .expect(415);
        expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', param: 'body' });
      }
      const teams = await api().get('/team/list').set(master).expect(200);
      expect(JSON.stringify(teams.body)).not.toContain('oops');
    });

    it('a filter given as name[]= or twice is refused, not dropped', async () => {
      for (const query of ['team_id[]=x', 'team_id=x&team_id=y', 'team_id[a]=x']) {
        const res = await api().get(`/key/list?${query}`).set(master).expect(400);
        expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', param: 'query.team_id' });
      }
      await api().get('/key/list?team_id=x').set(master).expect(200);
    });
  });

  describe('item 10: listed names are unique', () => {
    it('a tool named like another one shortened form: two names, each reaching its own tool', async () => {
      const res = await api().get('/mcp/tools/list').set(master).expect(200);
      const names = (res.body.tools as { name: string }[])
        .map((tool) => tool.name)
        .filter((name) => name.startsWith('clash-'));
      expect(new Set(names).size).toBe(names.length);
      expect(names).toHaveLength(3); // the long one, the literal one, echo once
      expect(names).toContain(`clash-${literalName}`);
      for (const name of names) {
        const call = await api()
          .post('/mcp/tools/call')
          .set(master)
          .send({ name, arguments: {} })
          .expect(200);
        const reached = (JSON.parse((call.body.content as { text: string }[])[0].text) as { tool: string })
          .tool;
        expect(name === `clash-${literalName}` ? reached === literalName : reached !== literalName).toBe(
          true,
        );
      }
    });
  });

  describe('item 11: URL userinfo', () => {
    it('is moved into the encrypted credentials, never shown, and still sent upstream', async () => {
      const url = fixture.url.replace('http://', `http://alice:${USERINFO_PW}@`);
      const created = await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'withinfo', url })
        .expect(201);
      expect(created.body.url).toBe(fixture.url);
      expect(created.text).not.toContain(USERINFO_PW);
      const viewer = await api()
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'viewer', role: 'proxy_admin_viewer' })
        .expect(200);
      const asViewer = await api()
        .get('/v1/mcp/server/withinfo')
        .set({ Authorization: `Bearer ${viewer.body.key as string}` })
        .expect(200);
      expect(asViewer.text).not.toContain(USERINFO_PW);
      expect(asViewer.body.status).toBe('healthy');
      const basic = `Basic ${Buffer.from(`alice:${USERINFO_PW}`).toString('base64')}`;
      expect(fixture.requestHeaders.some((h) => h.authorization === basic)).toBe(true);
      const rows = await t.app.get(DataSource).query<
        {
          url: string;
          credentials: string;
        }[]
      >(`SELECT url, credentials FROM mcp_server WHERE server_name = 'withinfo'`);
      expect(rows[0].url).toBe(fixture.url);
      expect(rows[0].credentials).not.toContain(USERINFO_PW);
    });

    it('a row stored with userinfo in its URL is rewritten at boot', async () => {
      const rows = await t.app.get(DataSource).query<
        {
          url: string;
          credentials: string | null;
        }[]
      >(`SELECT url, credentials FROM mcp_server WHERE server_name = 'legacy'`);
      expect(rows[0].url).toBe(fixture.url);
      expect(rows[0].credentials).toBeTruthy();
      expect(JSON.stringify(rows)).not.toContain(LEGACY_PW);
      const res = await api().get('/v1/mcp/server/legacy').set(master).expect(200);
      expect(res.text).not.toContain(LEGACY_PW);
      expect(t.logs.text()).not.toContain(LEGACY_PW);
    });
  });
});
