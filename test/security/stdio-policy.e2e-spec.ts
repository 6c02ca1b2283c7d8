import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createTestApp, provisionTestDatabase, type TestApp, type TestDatabase } from '@app/testing';
import { GatewayModule } from '../../apps/gateway/src/gateway.module.js';

/**
 * Issue 15, item 3: an API key is not a shell. The attack: `POST /v1/mcp/server/test` with
 * `{"command":"node","args":["-e","…"]}` ran code on the host as a proxy_admin. Now stdio servers come from
 * the config file unless general_settings.allow_stdio_from_api is on, and then only from the master key, and
 * never with code given inline. A marker file proves nothing ran.
 */
const MASTER_KEY = 'sk-master-e2e-stdio-policy';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const FIXTURE = path.resolve('test/fixtures/stdio-echo-server.mjs');

describe('stdio servers from the admin API (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let adminKey: string;
  const marker = path.join(tmpdir(), `gw-stdio-policy-${process.pid}`);
  const payload = ['-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`];
  const counts = { tried: 0, refused: 0 };
  const refused = (status: number) => {
    counts.tried++;
    if (status >= 400 && status < 500) counts.refused++;
  };

  const boot = (allow: boolean) =>
    createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-stdio-policy' },
      configYaml: `general_settings:\n  allow_stdio_from_api: ${allow}\n`,
    });

  beforeAll(async () => {
    db = await provisionTestDatabase({ persistent: true });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    process.stdout.write(
      `security matrix, stdio from the API: ${counts.tried} tried, ${counts.refused} refused as expected\n`,
    );
  });

  const api = () => request(t.url);

  describe('allow_stdio_from_api on', () => {
    beforeAll(async () => {
      t = await boot(true);
      const key = await api()
        .post('/key/generate')
        .set(master)
        .send({ key_alias: 'ops', role: 'proxy_admin' })
        .expect(200);
      adminKey = key.body.key as string;
    });

    afterAll(async () => {
      await t.close();
    });

    it('warns at boot that the master key can run commands', () => {
      expect(t.logs.text()).toContain('general_settings.allow_stdio_from_api is on');
    });

    it('a proxy_admin key may not register, test or change a stdio server (403)', async () => {
      for (const route of ['/v1/mcp/server', '/v1/mcp/server/test']) {
        const res = await api()
          .post(route)
          .set({ Authorization: `Bearer ${adminKey}` })
          .send({ server_name: 'by_admin', command: 'node', args: payload });
        refused(res.status);
        expect(res.status).toBe(403);
        expect(res.body.error).toMatchObject({ code: 'STDIO_NOT_ALLOWED', param: 'command' });
        expect(res.body.error.message).toContain('only the master key');
      }
      // Not even an http server turned into a stdio one.
      const web = await api()
        .post('/v1/mcp/server')
        .set({ Authorization: `Bearer ${adminKey}` })
        .send({ server_name: 'web', url: 'http://127.0.0.1:9/mcp' })
        .expect(201);
      const res = await api()
        .put('/v1/mcp/server')
        .set({ Authorization: `Bearer ${adminKey}` })
        .send({
          server_id: web.body.server_id,
          transport: 'stdio',
          url: null,
          command: 'node',
          args: [FIXTURE],
        });
      refused(res.status);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('STDIO_NOT_ALLOWED');
    });

    it.each([
      [['-e', 'process.exit(0)']],
      [['--eval=process.exit(0)']],
      [['-p', '1']],
      [['--print', '1']],
      [['--import', 'data:text/javascript,process.exit(0)']],
      [['--import=data:text/javascript,process.exit(0)']],
      [['--input-type=module']],
      [[FIXTURE, '-c', 'import os']],
    ])('the master key may not pass inline code: %j (400)', async (args) => {
      const res = await api().post('/v1/mcp/server/test').set(master).send({ command: 'node', args });
      refused(res.status);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'MCP_SERVER_INVALID', param: 'args' });
      expect(res.body.error.message).toContain('run code given inline');
    });

    it('the attack payload ran nowhere', async () => {
      const res = await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'evil', command: 'node', args: payload });
      refused(res.status);
      expect(res.status).toBe(400);
      expect(existsSync(marker)).toBe(false);
    });

    it('the master key registers a stdio server that names a program', async () => {
      await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'local', command: 'node', args: [FIXTURE] })
        .expect(201);
      const res = await api().get('/v1/mcp/server/local').set(master).expect(200);
      expect(res.body.status).toBe('healthy');
    });
  });

  describe('allow_stdio_from_api off (the default)', () => {
    beforeAll(async () => {
      t = await boot(false);
    });

    it('refuses stdio servers from the API, even from the master key (403)', async () => {
      for (const route of ['/v1/mcp/server', '/v1/mcp/server/test']) {
        const res = await api()
          .post(route)
          .set(master)
          .send({ server_name: 'again', command: 'node', args: [FIXTURE] });
        refused(res.status);
        expect(res.status).toBe(403);
        expect(res.body.error.message).toContain('general_settings.allow_stdio_from_api');
      }
    });

    it('does not start a stdio server stored while it was on, and says why', async () => {
      expect(t.logs.text()).toContain(
        'stdio servers stored in the database are not started while general_settings.allow_stdio_from_api is off: local',
      );
      const res = await api().get('/v1/mcp/server/local').set(master).expect(200);
      refused(res.body.status === 'unhealthy' ? 400 : 200);
      expect(res.body.status).toBe('unhealthy');
      expect(res.body.health_check_error).toContain('allow_stdio_from_api is off');
    });
  });
});
