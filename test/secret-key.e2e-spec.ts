import request from 'supertest';
import { createTestApp, provisionTestDatabase, type TestDatabase } from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Upstream credentials are encrypted with SALT_KEY, else the master key. A gateway restarted without either
 * (run by a proxy_admin key) must refuse to store credentials rather than store them in clear or drop them.
 */
describe('no secret key configured (e2e)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await provisionTestDatabase({ persistent: true });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('refuses credentials with 400 SECRET_KEY_MISSING, and accepts a server without any', async () => {
    const first = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY: 'sk-master-first-boot' },
    });
    let adminKey: string;
    try {
      const res = await request(first.url)
        .post('/key/generate')
        .set('Authorization', 'Bearer sk-master-first-boot')
        .send({ role: 'proxy_admin', key_alias: 'ops' })
        .expect(200);
      adminKey = res.body.key;
    } finally {
      await first.close();
    }

    const second = await createTestApp({ rootModule: GatewayModule.forRoot, database: db.database, env: {} });
    try {
      const api = () => request(second.url);
      const refused = await api()
        .post('/v1/mcp/server')
        .set('Authorization', `Bearer ${adminKey}`)
        .send({
          server_name: 'remote',
          url: 'https://mcp.example.com/mcp',
          auth_type: 'bearer_token',
          auth_value: 'tok-123456',
        })
        .expect(400);
      expect(refused.body.error.code).toBe('SECRET_KEY_MISSING');
      expect(refused.body.error.message).toMatch(/SALT_KEY/);
      expect(refused.text).not.toContain('tok-123456');
      const plain = await api()
        .post('/v1/mcp/server')
        .set('Authorization', `Bearer ${adminKey}`)
        .send({ server_name: 'local', url: 'http://127.0.0.1:9/mcp' })
        .expect(201);
      expect(plain.body.created_by).toBe('ops');
      await api().get('/v1/mcp/server').set('Authorization', 'Bearer sk-master-first-boot').expect(401);
    } finally {
      await second.close();
    }
  });
});
