import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  createTestApp,
  modernRequest,
  provisionTestDatabase,
  type StatefulUpstream,
  startStatefulUpstream,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 19: `input_required` through the gateway. A per_client upstream (2025-11-25) that asks its client
 * something mid-call (elicitation, sampling, roots) is answered by a 2026-07-28 client through input_required
 * rounds; the requestState it holds is the gateway's sealed token, refused when tampered with, replayed by
 * another key, or once the key's grant changed. A 2025 client on SDK v1 uses the same endpoint and upstream at
 * the same time, over its session.
 */
const MASTER_KEY = 'sk-master-e2e-input';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

describe('input_required through the gateway (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let asking: StatefulUpstream;
  /** Upstream sessions the asking server saw opened (one per per-key connection). */
  let upstreamSessions = 0;

  beforeAll(async () => {
    asking = await startStatefulUpstream(() => {
      upstreamSessions += 1;
      const server = new Server({ name: 'asking', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [
          { name: 'greet', inputSchema: { type: 'object' } },
          { name: 'plan', inputSchema: { type: 'object' } },
        ],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        if (request.params.name === 'greet') {
          const answer = await extra.sendRequest(
            {
              method: 'elicitation/create',
              params: {
                message: 'Who are you?',
                requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
              },
            },
            ElicitResultSchema,
          );
          return { content: [{ type: 'text', text: `hello ${String(answer.content?.name)}` }] };
        }
        // Two questions at once, then a third.
        const [model, { roots }] = await Promise.all([
          extra.sendRequest(
            {
              method: 'sampling/createMessage',
              params: {
                messages: [{ role: 'user', content: { type: 'text', text: 'plan?' } }],
                maxTokens: 5,
              },
            },
            CreateMessageResultSchema,
          ),
          extra.sendRequest({ method: 'roots/list', params: {} }, ListRootsResultSchema),
        ]);
        const ok = await extra.sendRequest(
          {
            method: 'elicitation/create',
            params: { message: 'Go?', requestedSchema: { type: 'object', properties: {} } },
          },
          ElicitResultSchema,
        );
        const said = model.content.type === 'text' ? model.content.text : '?';
        return {
          content: [{ type: 'text', text: `${said} in ${roots.map((r) => r.uri).join()} (${ok.action})` }],
        };
      });
      return server;
    });
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  asking:
    url: ${asking.url}
  other:
    url: ${asking.url}
  guarded:
    url: ${asking.url}
    allow_elicitation: false
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await asking?.close();
  });

  const newKey = async (servers: string[]) => {
    const res = await fetch(`${t.url}/key/generate`, {
      method: 'POST',
      headers: { ...master, 'Content-Type': 'application/json' },
      body: JSON.stringify({ object_permission: { mcp_servers: servers } }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { key: string }).key;
  };

  /** One raw 2026-07-28 tools/call, as the conformance suite sends it. */
  const call = (key: string, params: Record<string, unknown>, capabilities?: Record<string, unknown>) =>
    modernRequest(`${t.url}/mcp`, key, 'tools/call', { arguments: {}, ...params }, capabilities);
  const metric = async (name: string) => {
    const text = await (await fetch(`${t.url}/metrics`, { headers: master })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  const accept = (content: Record<string, unknown>) => ({ action: 'accept', content });

  it('hands an upstream elicitation to a 2026 client as input_required, and finishes the call with its answer', async () => {
    const key = await newKey(['asking']);
    const first = await call(key, { name: 'asking-greet' });
    expect(first.body.result?.resultType).toBe('input_required');
    const asked = Object.entries(first.body.result!.inputRequests!);
    expect(asked).toHaveLength(1);
    expect(asked[0][1]).toMatchObject({ method: 'elicitation/create', params: { message: 'Who are you?' } });
    // The state is the gateway's: opaque, nothing of the key, server or call readable in it.
    const state = first.body.result!.requestState!;
    expect(state).toMatch(/^gw1\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(state.slice(4), 'base64url').toString('latin1')).not.toMatch(/asking|greet|master/);

    expect(await metric('mcp_input_required_total')).toBe(1);
    expect(await metric('mcp_input_waiting_calls')).toBe(1);

    const done = await call(key, {
      name: 'asking-greet',
      inputResponses: { [asked[0][0]]: accept({ name: 'Ada' }) },
      requestState: state,
    });
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
    expect(done.body.result?.resultType).toBe('complete');
    expect(await metric('mcp_input_waiting_calls')).toBe(0);
    // The same state again: the call it continued is over (no replay).
    const again = await call(key, {
      name: 'asking-greet',
      inputResponses: { [asked[0][0]]: accept({ name: 'Eve' }) },
      requestState: state,
    });
    expect(again.body.error?.code).toBe(-32602);
    expect(again.body.error?.message).toContain('no longer waiting');
  });

  it('gathers requests sent together, asks again what was not answered, and goes on round after round', async () => {
    const key = await newKey(['asking']);
    const first = await call(key, { name: 'asking-plan' });
    const asked = first.body.result!.inputRequests!;
    expect(
      Object.values(asked)
        .map((r) => r.method)
        .sort(),
    ).toEqual(['roots/list', 'sampling/createMessage']);
    const [sampling] = Object.entries(asked).find(([, r]) => r.method === 'sampling/createMessage')!;
    const [roots] = Object.entries(asked).find(([, r]) => r.method === 'roots/list')!;
    // Only the sampling answer: roots are asked again, under the same key.
    const partial = await call(key, {
      name: 'asking-plan',
      inputResponses: {
        [sampling]: { role: 'assistant', content: { type: 'text', text: 'ship it' }, model: 'm' },
      },
      requestState: first.body.result!.requestState,
    });
    expect(Object.keys(partial.body.result!.inputRequests!)).toEqual([roots]);
    const third = await call(key, {
      name: 'asking-plan',
      inputResponses: { [roots]: { roots: [{ uri: 'file:///repo' }] } },
      requestState: partial.body.result!.requestState,
    });
    const [go] = Object.entries(third.body.result!.inputRequests!);
    expect(go[1].params.message).toBe('Go?');
    // The state of an earlier round is spent.
    const stale = await call(key, {
      name: 'asking-plan',
      inputResponses: { [go[0]]: accept({}) },
      requestState: partial.body.result!.requestState,
    });
    expect(stale.body.error?.code).toBe(-32602);
    const done = await call(key, {
      name: 'asking-plan',
      inputResponses: { [go[0]]: accept({}) },
      requestState: third.body.result!.requestState,
    });
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'ship it in file:///repo (accept)' }]);
  });

  it('refuses a tampered state and another key replaying it (-32602), and leaves the call to its owner', async () => {
    const owner = await newKey(['asking']);
    const other = await newKey(['asking']);
    const first = await call(owner, { name: 'asking-greet' });
    const state = first.body.result!.requestState!;
    const [ask] = Object.keys(first.body.result!.inputRequests!);
    const answer = { [ask]: accept({ name: 'Mallory' }) };

    const flipped = state.slice(0, 10) + (state[10] === 'A' ? 'B' : 'A') + state.slice(11);
    const tampered = await call(owner, {
      name: 'asking-greet',
      inputResponses: answer,
      requestState: flipped,
    });
    expect(tampered.body.error?.code).toBe(-32602);
    const appended = await call(owner, {
      name: 'asking-greet',
      inputResponses: answer,
      requestState: `${state}-TAMPERED`,
    });
    expect(appended.body.error?.code).toBe(-32602);
    const replayed = await call(other, { name: 'asking-greet', inputResponses: answer, requestState: state });
    expect(replayed.body.error?.code).toBe(-32602);
    // Another operation with the same state is refused too.
    const elsewhere = await call(owner, { name: 'asking-plan', inputResponses: answer, requestState: state });
    expect(elsewhere.body.error?.message).toContain('another request');

    // None of them consumed the owner's waiting call.
    const done = await call(owner, {
      name: 'asking-greet',
      inputResponses: { [ask]: accept({ name: 'Ada' }) },
      requestState: state,
    });
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
  });

  it("ends a waiting call, with an explained error, when the key's grant changed before it was continued", async () => {
    const key = await newKey(['asking', 'other']);
    const first = await call(key, { name: 'asking-greet' });
    const [ask] = Object.keys(first.body.result!.inputRequests!);
    const update = await fetch(`${t.url}/key/update`, {
      method: 'POST',
      headers: { ...master, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key, object_permission: { mcp_servers: ['other'] } }),
    });
    expect(update.status).toBe(200);
    const refused = await call(key, {
      name: 'asking-greet',
      inputResponses: { [ask]: accept({ name: 'Ada' }) },
      requestState: first.body.result!.requestState,
    });
    expect(refused.body.error?.code).toBe(-32602);
    expect(refused.body.error?.data?.reason).toBe('grant_changed');
    expect(refused.body.error?.message).toContain('its grants changed while the call waited for input');
  });

  it('refuses upstream, and tells the client, an elicitation from a server set allow_elicitation: false', async () => {
    const key = await newKey(['guarded']);
    const res = await call(key, { name: 'guarded-greet' });
    expect(res.body.result?.resultType).not.toBe('input_required');
    expect(JSON.stringify(res.body)).toContain('allow_elicitation: false');
  });

  it('answers -32021 naming the capability when the upstream asks what the client did not declare', async () => {
    const key = await newKey(['asking']);
    const res = await call(key, { name: 'asking-greet' }, { sampling: {} });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe(-32021);
    expect(JSON.stringify(res.body.error)).toContain('elicitation');
  });

  it('serves a 2026 client on SDK v2 (which answers input_required by itself) and a 2025 client on SDK v1 at once', async () => {
    const key = await newKey(['asking']);
    const headers = { Authorization: `Bearer ${key}` };
    const modern = new ModernClient(
      { name: 'modern', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    modern.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'v2' } }));
    await modern.connect(new ModernTransport(new URL(`${t.url}/mcp`), { requestInit: { headers } }));
    const legacy = new Client({ name: 'legacy', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    legacy.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'v1' } }));
    await legacy.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers } }),
    );

    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        i % 2
          ? modern.callTool({ name: 'asking-greet', arguments: {} })
          : legacy.callTool({ name: 'asking-greet', arguments: {} }),
      ),
    );
    expect(results.map((r) => (r.content as { text: string }[])[0].text)).toEqual([
      'hello v1',
      'hello v2',
      'hello v1',
      'hello v2',
    ]);
    // The key's idle upstream connections are reused by its next 2026 calls (no new upstream session each time).
    const before = upstreamSessions;
    for (let i = 0; i < 3; i++) await modern.callTool({ name: 'asking-greet', arguments: {} });
    expect(upstreamSessions - before).toBeLessThanOrEqual(1);
    await modern.close();
    await legacy.close();
    // Another key never gets this key's upstream session (per_client state stays with its key): its first call
    // opens one of its own.
    const keyOneSessions = upstreamSessions;
    const other = await newKey(['asking']);
    const first = await call(other, { name: 'asking-greet' });
    expect(first.body.result?.resultType).toBe('input_required');
    expect(upstreamSessions).toBe(keyOneSessions + 1);
  });
});
