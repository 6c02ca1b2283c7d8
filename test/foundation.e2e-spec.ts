import { Body, Controller, Module, Post } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { IsInt, IsString, Length, Min } from 'class-validator';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { Public } from '@app/auth';
import { GatewayDataSource } from '@app/database';
import { createTestApp, provisionTestDatabase, type TestApp, type TestDatabase } from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { ALL_MIGRATIONS } from '../migrations/index.js';

class CreateWidgetDto {
  @IsString()
  @Length(1, 8)
  name: string;

  @IsInt()
  @Min(1)
  count: number;
}

/** A test-only route, to prove the global validation pipe and error filter on a real body. */
@Public()
@Controller('__test/widgets')
class WidgetTestController {
  @Post()
  create(@Body() dto: CreateWidgetDto) {
    return { name: dto.name, count: dto.count, isDto: dto instanceof CreateWidgetDto };
  }
}

@Module({ controllers: [WidgetTestController] })
class WidgetTestModule {}

/** Asserts the one error shape of the API: exactly these keys, with these types. */
function expectErrorShape(body: unknown, extraKeys: string[] = []): void {
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(body as object)).toEqual(['error']);
  expect(Object.keys(error).sort()).toEqual(
    ['code', 'message', 'param', 'request_id', 'type', ...extraKeys].sort(),
  );
  expect(typeof error.message).toBe('string');
  expect(typeof error.type).toBe('string');
  expect(typeof error.code).toBe('string');
  expect(error.param === null || typeof error.param === 'string').toBe(true);
  expect(error.request_id).toMatch(/\S/);
}

describe('foundation (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      extraModules: [WidgetTestModule],
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers GET / with its name and version', async () => {
    const res = await request(t.url).get('/').expect(200);
    expect(res.body).toMatchObject({ name: 'mcp-gateway', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('is alive on both spellings of the liveness probe', async () => {
    await request(t.url).get('/health/liveliness').expect(200, /alive/);
    await request(t.url).get('/health/liveness').expect(200, /alive/);
  });

  it('is ready: database up, every migration applied', async () => {
    const res = await request(t.url).get('/health/readiness').expect(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      database: { status: 'up', kind: db.kind, pending_migrations: [] },
    });
  });

  it(`applied every known migration to the ${process.env.TEST_DATABASE_URL ? 'real' : 'embedded'} database`, async () => {
    const dataSource = t.app.get<DataSource>(getDataSourceToken());
    expect(dataSource).toBeInstanceOf(GatewayDataSource);
    expect((dataSource as GatewayDataSource).kind).toBe(db.kind);
    const rows = await dataSource.query<{ name: string }[]>(
      'SELECT name FROM typeorm_migrations ORDER BY id',
    );
    expect(rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS.map((m) => new m().name ?? m.name));
    expect(ALL_MIGRATIONS.length).toBeGreaterThan(0);
    const tables = await dataSource.query<{ exists: boolean }[]>(
      "SELECT to_regclass('mcp_server') IS NOT NULL AS exists",
    );
    expect(tables[0].exists).toBe(true);
  });

  it('answers an unknown route with a 404 in the error shape', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expectErrorShape(res.body);
    expect(res.body.error).toMatchObject({ code: 'ROUTE_NOT_FOUND', type: 'not_found_error', param: null });
    expect(res.body.error.message).toContain('GET /no/such/route');
  });

  it('answers a validation error with a 400 that names each bad field', async () => {
    const res = await request(t.url)
      .post('/__test/widgets')
      .send({ name: 'far-too-long-name', count: 0, extra: true })
      .expect(400);
    expectErrorShape(res.body, ['details']);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', type: 'invalid_request_error' });
    expect(['name', 'count', 'extra']).toContain(res.body.error.param);
    expect(res.body.error.message).toContain('name: name must be shorter than or equal to 8 characters');
    expect(res.body.error.message).toContain('count: count must not be less than 1');
    expect(res.body.error.message).toContain('extra: property extra should not exist');
  });

  it('transforms a valid body into its DTO', async () => {
    const res = await request(t.url).post('/__test/widgets').send({ name: 'w', count: 2 }).expect(201);
    expect(res.body).toEqual({ name: 'w', count: 2, isDto: true });
  });

  it('answers malformed JSON with a 400 in the error shape', async () => {
    const res = await request(t.url)
      .post('/__test/widgets')
      .set('content-type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expectErrorShape(res.body);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });

  it('echoes the caller request id, in the header and in the error body', async () => {
    const res = await request(t.url).get('/nope').set('x-request-id', 'trace-42').expect(404);
    expect(res.headers['x-request-id']).toBe('trace-42');
    expect(res.body.error.request_id).toBe('trace-42');
  });

  it('makes up a request id when there is none, and logs it with the request', async () => {
    const res = await request(t.url).get('/health/liveness').expect(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    const line = t.logs.records().find((r) => r.request_id === id && r.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', path: '/health/liveness', status: 200 });
  });

  it('logs the path without its query string (it may carry a key)', async () => {
    await request(t.url).get('/health/liveness?key=sk-should-not-be-logged').expect(200);
    expect(t.logs.text()).not.toContain('sk-should-not-be-logged');
  });
});

describe('readiness when the database goes away (e2e)', () => {
  it('answers 503 with the database error', async () => {
    const db = await provisionTestDatabase();
    const t = await createTestApp({ rootModule: GatewayModule.forRoot, database: db.database });
    try {
      await request(t.url).get('/health/readiness').expect(200);
      const dataSource = t.app.get<GatewayDataSource>(getDataSourceToken());
      if (dataSource.embedded) await dataSource.embedded.stopServing();
      else await db.drop();
      const res = await request(t.url).get('/health/readiness').expect(503);
      expect(res.body).toMatchObject({
        status: 'not_ready',
        database: { status: 'down', error: expect.any(String) },
      });
      await request(t.url).get('/health/liveness').expect(200);
    } finally {
      await t.close();
      await db.drop();
    }
  });
});
