import request from 'supertest';
import { ChangeBus } from '@app/database';
import {
  createTestApp,
  eventually,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
  withAdminClient,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 18 (first part): two replicas on one Postgres. A server added on one is listed by the other within a
 * second, a key blocked on one is refused by the other at its next request, and a replica that lost its LISTEN
 * connection catches up with what it missed. On the embedded database there is one process by construction
 * (its data directory is locked): the bus is off, and that is what is checked there.
 */
const MASTER_KEY = 'sk-master-e2e-replicas';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('invalidation across replicas (e2e)', () => {
  let db: TestDatabase;
  let one: TestApp;
  let two: TestApp | null = null;
  let fixture: McpFixture;

  beforeAll(async () => {
    fixture = await startMcpFixture();
    db = await provisionTestDatabase();
    const start = () =>
      createTestApp({ rootModule: GatewayModule.forRoot, database: db.database, env: { MASTER_KEY } });
    one = await start();
    if (db.kind === 'postgres') two = await start();
  });

  afterAll(async () => {
    await two?.close();
    await one?.close();
    await db?.drop();
    await fixture?.close();
  });

  const listed = async (app: TestApp, name: string) =>
    ((await request(app.url).get('/v1/mcp/server').set(master)).body as { server_name: string }[]).some(
      (s) => s.server_name === name,
    );

  it('propagates server writes and key blocks to the other replica (Postgres), or is off (embedded)', async () => {
    if (!two) {
      expect(one.app.get(ChangeBus).enabled).toBe(false);
      return;
    }
    const other = two;
    expect(one.app.get(ChangeBus).enabled).toBe(true);
    await request(one.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'added_on_one', url: fixture.url })
      .expect(201);
    await eventually('the server listed on replica two', () => listed(other, 'added_on_one'), 1000);

    const key = (
      await request(other.url).post('/key/generate').set(master).send({ key_alias: 'rep' }).expect(200)
    ).body.key as string;
    // Cached on replica one by a first request, then blocked on replica two.
    await request(one.url)
      .get('/key/info')
      .set({ Authorization: `Bearer ${key}` })
      .expect(200);
    await request(other.url).post('/key/block').set(master).send({ key: 'rep' }).expect(200);
    await eventually(
      'the key refused on replica one',
      async () => {
        const res = await request(one.url)
          .get('/key/info')
          .set({ Authorization: `Bearer ${key}` });
        return res.status === 403 && res.body.error.code === 'KEY_BLOCKED';
      },
      1000,
    );
  });

  it('a replica that lost its LISTEN connection reconnects and catches up with what it missed', async () => {
    if (!two) return;
    const other = two;
    const url = db.database.url as string;
    await withAdminClient(url, (client) =>
      client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mcp-gateway-listen' AND datname = current_database()`,
      ),
    );
    // Written while both replicas are deaf: only the resync after reconnecting can bring it.
    await request(one.url)
      .post('/v1/mcp/server')
      .set(master)
      .send({ server_name: 'missed', url: fixture.url })
      .expect(201);
    await eventually(
      'replica two reconnected',
      () =>
        Promise.resolve(
          other.logs.lines.some((line) => line.includes('listening for changes of other replicas again')),
        ),
      5000,
    );
    await eventually('the missed server listed on replica two', () => listed(other, 'missed'), 1000);
  });
});
