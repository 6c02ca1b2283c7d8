import { EventEmitter, once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import { AuditLog, SpendLedger } from '@app/observability';
import {
  createTestApp,
  eventually,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 16: every tool call (MCP or REST) is counted in /metrics and written to the audit log with the right
 * outcome, cost and trace id; budgets refuse the call that would overspend; the caller's trace reaches the
 * upstream; no key, argument or credential shows in metrics, logs or audit rows.
 */
const MASTER_KEY = 'sk-master-e2e-observability';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const CANARY_ARG = 'canary-argument-5b7d9f13';
const CANARY_HEADER = 'canary-upstream-cred-2c4e6a80';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** Tells the test when the upstream has started a call (so that cancelling it is not a race). */
const upstreamEvents = new EventEmitter();
const tools = ['echo', 'fail', 'sleep'].map((name) => ({ name, inputSchema: { type: 'object' as const } }));

describe('observability: metrics, audit log, budgets, trace context (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: McpFixture;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    upstream = await startMcpFixture({
      tools,
      call: async (name, args) => {
        if (name === 'fail') return { isError: true, content: [{ type: 'text', text: 'it failed' }] };
        if (name === 'sleep') {
          upstreamEvents.emit('sleeping');
          await new Promise((resolve) => setTimeout(resolve, Number(args.ms ?? 0)));
        }
        return { content: [{ type: 'text', text: `done ${name}` }] };
      },
    });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, SALT_KEY: 'salt-observability' },
      configYaml: `
mcp_servers:
  obs:
    url: ${upstream.url}
    timeout: 0.4
    allow_all_keys: true
    static_headers: { x-upstream-cred: ${CANARY_HEADER} }
    mcp_info:
      mcp_server_cost_info:
        default_cost_per_query: 0.001
        tool_name_to_cost_per_query: { echo: 0.02 }
`,
    });
    const admin = (path: string, body: object) =>
      request(t.url).post(path).set(master).send(body).expect(200);
    await admin('/team/new', { team_id: 'budget_team', max_budget: 0.03 });
    for (const [alias, body] of [
      ['plain', {}],
      ['capped', { max_budget: 0.05 }],
      ['in_team', { team_id: 'budget_team' }],
      ['periodic', { max_budget: 0.02, budget_duration: '1s' }],
    ] as const)
      keys[alias] = (await admin('/key/generate', { key_alias: alias, ...body })).body.key as string;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await upstream?.close();
  });

  const api = () => request(t.url);
  const as = (alias: string) => ({ Authorization: `Bearer ${keys[alias]}` });
  const call = (name: string, headers: Record<string, string>, args: Record<string, unknown> = {}) =>
    api().post('/mcp/tools/call').set(headers).send({ name, arguments: args });
  const flush = () => t.app.get(AuditLog).flush();
  const metrics = async () => (await api().get('/metrics').set(master).expect(200)).text;
  const sample = (text: string, name: string, labels: string) =>
    Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');

  const connect = async (alias: string) => {
    const client = new Client({ name: 'obs-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: as(alias) } }),
    );
    return client;
  };

  it('counts every outcome in /metrics and writes one audit row per call, filtered and paginated', async () => {
    expect((await call('obs-echo', as('plain'), { message: CANARY_ARG })).status).toBe(200);
    expect((await call('obs-fail', as('plain'))).body.isError).toBe(true);
    const slow = await call('obs-sleep', as('plain'), { ms: 1500 });
    expect(JSON.stringify(slow.body)).toContain('did not answer');
    expect((await call('obs-nothing', as('plain'))).status).toBe(404);
    // Cancelled: an MCP client gives up on a slow call.
    const client = await connect('plain');
    const controller = new AbortController();
    const pending = client.callTool({ name: 'obs-sleep', arguments: { ms: 300 } }, undefined, {
      signal: controller.signal,
    });
    await once(upstreamEvents, 'sleeping');
    controller.abort();
    await expect(pending).rejects.toThrow();
    await client.close();
    await eventually('the cancelled call to be recorded', async () => {
      await flush();
      const res = await api().get('/v1/mcp/logs?outcome=cancelled').set(master);
      return res.body.data.length === 1;
    });

    const text = await metrics();
    for (const [tool, outcome] of [
      ['echo', 'ok'],
      ['fail', 'tool_error'],
      ['sleep', 'timeout'],
      ['sleep', 'cancelled'],
    ])
      expect([
        tool,
        outcome,
        sample(text, 'mcp_tool_calls_total', `server="obs",tool="${tool}",outcome="${outcome}"`),
      ]).toEqual([tool, outcome, 1]);
    expect(
      sample(text, 'mcp_tool_calls_total', 'server="\\(unknown\\)",tool="\\(unknown\\)",outcome="denied"'),
    ).toBe(1);
    expect(sample(text, 'mcp_upstream_up', 'server="obs"')).toBe(1);
    expect(text).toMatch(
      /^http_requests_total\{route="\/mcp\/tools\/call",method="POST",status="200"\} \d+$/m,
    );
    expect(text).toMatch(/^mcp_client_sessions\{transport="streamable_http"\} \d+$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);

    const logs = await api().get('/v1/mcp/logs?key_alias=plain').set(master).expect(200);
    const outcomes = (logs.body.data as { outcome: string }[]).map((r) => r.outcome);
    expect(outcomes).toEqual(['cancelled', 'denied', 'timeout', 'tool_error', 'ok']);
    const ok = logs.body.data[4];
    expect(ok).toMatchObject({
      via: 'rest',
      key_alias: 'plain',
      key_hash: expect.stringMatching(/^[0-9a-f]{12}$/),
      server: 'obs',
      tool: 'echo',
      cost: 0.02,
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(logs.body.data[0].via).toBe('mcp');
    expect(logs.body.data[2].error).toContain('did not answer');
    // Pages of two, newest first, until the end.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api()
        .get(`/v1/mcp/logs?key_alias=plain&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(master)
        .expect(200);
      seen.push(...(page.body.data as { outcome: string }[]).map((r) => r.outcome));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(seen).toEqual(outcomes);
    const filtered = await api().get('/v1/mcp/logs?server=obs&tool=sleep').set(master).expect(200);
    expect(filtered.body.data).toHaveLength(2);
    const bad = await api().get('/v1/mcp/logs?since=yesterday').set(master).expect(400);
    expect(bad.body.error).toMatchObject({ param: 'since' });
    // Viewers read; users do not.
    await api().get('/v1/mcp/logs').set(as('plain')).expect(403);
  });

  it('refuses the call that would overspend a key budget, on REST and over MCP; spend is stored', async () => {
    for (let i = 0; i < 2; i++) expect((await call('obs-echo', as('capped'))).status).toBe(200);
    const refused = await call('obs-echo', as('capped'));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(refused.body.error.message).toBe(
      'budget exceeded: API key capped has spent 0.04 of its max_budget 0.05, and this call costs 0.02',
    );
    // A cheaper tool still fits.
    expect((await call('obs-fail', as('capped'))).status).toBe(200);
    const client = await connect('capped');
    await expect(client.callTool({ name: 'obs-echo', arguments: {} })).rejects.toThrow('budget exceeded');
    await client.close();
    await t.app.get(SpendLedger).flush();
    const info = await api().get('/key/info?key=capped').set(master).expect(200);
    expect(info.body.info.spend).toBeCloseTo(0.041, 9);
    expect(await metrics()).toMatch(/^mcp_budget_refusals_total\{scope="key"\} 2$/m);
  });

  it('refuses the call that would overspend a team budget, naming the team', async () => {
    expect((await call('obs-echo', as('in_team'))).status).toBe(200);
    const refused = await call('obs-echo', as('in_team'));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('team "budget_team" has spent 0.02 of its max_budget 0.03');
  });

  it('resets a budget when its budget_duration ends', async () => {
    expect((await call('obs-echo', as('periodic'))).status).toBe(200);
    const refused = await call('obs-echo', as('periodic'));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('it resets at');
    await eventually(
      'the 1 s budget period to end',
      async () => (await call('obs-echo', as('periodic'))).status === 200,
      5000,
    );
  });

  it('reports spend per key, team, server and tool', async () => {
    await flush();
    const byKey = await api().get('/v1/mcp/spend?group_by=key').set(master).expect(200);
    const capped = (byKey.body.data as { group: string; cost: number; calls: number }[]).find(
      (r) => r.group === 'capped',
    );
    expect(capped).toMatchObject({ cost: 0.041, calls: 5 });
    const byTool = await api().get('/v1/mcp/spend?group_by=tool').set(master).expect(200);
    expect(byTool.body.data[0]).toMatchObject({ group: 'echo', p50_ms: expect.any(Number) });
    await api().get('/v1/mcp/spend?group_by=model').set(master).expect(400);
  });

  it('records admin changes as events: who, what, which fields', async () => {
    const res = await api().get('/v1/admin/events?object_type=key').set(master).expect(200);
    const created = (res.body.data as { action: string; changed_fields: string[]; actor: string }[]).find(
      (e) => e.action === 'create' && e.changed_fields.includes('budget_duration'),
    );
    expect(created).toMatchObject({
      actor: 'master_key',
      changed_fields: ['budget_duration', 'key_alias', 'max_budget'],
    });
    const team = await api().get('/v1/admin/events?object_type=team&action=create').set(master).expect(200);
    expect(team.body.data[0]).toMatchObject({ object_id: 'budget_team' });
    await api().post('/key/block').set(master).send({ key: 'periodic' }).expect(200);
    await api().post('/key/unblock').set(master).send({ key: 'periodic' }).expect(200);
    const info = await api().get('/key/info?key=periodic').set(master).expect(200);
    const actions = await api()
      .get(`/v1/admin/events?object_id=${info.body.info.key_id as string}`)
      .set(master)
      .expect(200);
    expect(actions.body.data.map((e: { action: string }) => e.action)).toEqual([
      'unblock',
      'block',
      'create',
    ]);
  });

  it('carries the caller trace to the upstream (header and _meta), the audit row and the log lines', async () => {
    const seen = upstream.requestHeaders.length;
    await call('obs-echo', { ...as('plain'), traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` }).expect(200);
    const sent = upstream.requestHeaders.slice(seen).map((h) => h.traceparent as string | undefined);
    const forwarded = sent.find((v) => v?.includes(TRACE_ID));
    expect(forwarded).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(forwarded).not.toContain('00f067aa0ba902b7');
    // Over MCP, the traceparent in the request's _meta wins.
    const metaTrace = '0af7651916cd43dd8448eb211c80319c';
    const client = await connect('plain');
    const before = upstream.requestHeaders.length;
    const result = (await client.callTool({
      name: 'obs-echo',
      arguments: {},
      _meta: { traceparent: `00-${metaTrace}-b7ad6b7169203331-01` },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    await client.close();
    expect(upstream.requestHeaders.slice(before).some((h) => String(h.traceparent).includes(metaTrace))).toBe(
      true,
    );
    await flush();
    const rows = await api().get('/v1/mcp/logs?key_alias=plain&limit=2').set(master).expect(200);
    expect(rows.body.data.map((r: { trace_id: string }) => r.trace_id)).toEqual([metaTrace, TRACE_ID]);
    expect(
      t.logs.lines.some((line) => line.includes(`"trace_id":"${TRACE_ID}"`) && line.includes('"tool call"')),
    ).toBe(true);
  });

  it('shows no key, argument or upstream credential in metrics, logs or audit rows', async () => {
    await flush();
    const texts = [
      await metrics(),
      JSON.stringify((await api().get('/v1/mcp/logs?limit=1000').set(master)).body),
      JSON.stringify((await api().get('/v1/admin/events?limit=1000').set(master)).body),
      t.logs.text(),
    ];
    const canaries = [CANARY_ARG, CANARY_HEADER, MASTER_KEY, ...Object.values(keys)];
    for (const canary of canaries)
      expect([canary, texts.filter((text) => text.includes(canary)).length]).toEqual([canary, 0]);
  });

  it('needs an admin key for /metrics', async () => {
    const res = await api().get('/metrics').expect(401);
    expect(res.body.error.message).toContain('general_settings.metrics_public');
    await api().get('/metrics').set(as('plain')).expect(403);
  });

  it('deletes rows past audit_retention_days', async () => {
    await flush();
    const before = (await api().get('/v1/mcp/logs?limit=1000').set(master).expect(200)).body.data.length;
    expect(before).toBeGreaterThan(0);
    const audit = t.app.get(AuditLog);
    expect(await audit.applyRetention(new Date())).toBe(0);
    expect(await audit.applyRetention(new Date(Date.now() + 31 * 86_400_000))).toBe(before);
    expect((await api().get('/v1/mcp/logs').set(master).expect(200)).body.data).toEqual([]);
  });
});
