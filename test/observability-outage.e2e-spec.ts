import request from 'supertest';
import { AuditLog } from '@app/observability';
import {
  createTestApp,
  type DatabaseProxy,
  type McpFixture,
  startDatabaseProxy,
  startMcpFixture,
  type TestApp,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 16, acceptance 2: the database goes away while calls go on. Calls keep succeeding (the call path never
 * waits on the audit log), the bounded queue fills and drops its oldest rows, counted in
 * mcp_audit_dropped_total; once the database is back, the queued rows and new ones are written.
 */
const MASTER_KEY = 'sk-master-e2e-audit-outage';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('audit log through a database outage (e2e)', () => {
  let proxy: DatabaseProxy;
  let t: TestApp;
  let fixture: McpFixture;

  beforeAll(async () => {
    fixture = await startMcpFixture();
    proxy = await startDatabaseProxy();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: proxy.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  echo:
    url: ${fixture.url}
general_settings:
  audit_queue_size: 100
`,
    });
  });

  afterAll(async () => {
    proxy?.set('up');
    await t?.close();
    await proxy?.close();
    await fixture?.close();
  });

  const api = () => request(t.url);
  const call = (message: string) =>
    api().post('/mcp/tools/call').set(master).send({ name: 'echo-echo', arguments: { message } });
  const dropped = async () =>
    Number(
      /^mcp_audit_dropped_total (\S+)$/m.exec(
        (await api().get('/metrics').set(master).expect(200)).text,
      )?.[1],
    );

  it('keeps calls going, drops and counts the oldest rows, and writes again once the database is back', async () => {
    expect((await call('warm')).status).toBe(200);
    proxy.set('down');
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) statuses.push((await call(`during-${i}`)).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const audit = t.app.get(AuditLog);
    await audit.flush();
    expect(audit.stats.queued).toBe(100);
    expect(await dropped()).toBeGreaterThanOrEqual(50);

    proxy.set('up');
    for (let i = 0; i < 3; i++) expect((await call(`after-${i}`)).status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (audit.stats.queued > 0 && Date.now() < deadline) {
      await audit.flush();
      if (audit.stats.queued > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(audit.stats.queued).toBe(0);
    // Every one of the 154 calls was either written or dropped and counted; the queue kept the newest.
    const rows = await api().get('/v1/mcp/logs?limit=1000').set(master).expect(200);
    expect(rows.body.data.length).toBe(audit.stats.written);
    expect(audit.stats.written + (await dropped())).toBe(154);
    expect(audit.stats.written).toBeGreaterThanOrEqual(100);
    expect(rows.body.data[0]).toMatchObject({ outcome: 'ok', tool: 'echo' });
  });
});
