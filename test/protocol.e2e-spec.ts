import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type CallToolResult,
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  createTestApp,
  modernMessages,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { CONFORMANCE_FIXTURE_V2, startConformanceFixture } from './helpers/conformance-fixture.js';

const MASTER_KEY = 'sk-master-e2e-protocol';

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

describe('protocol relay through the gateway (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: { url: string; process: ChildProcess };
  let rich: RichFixture;
  const clients: Client[] = [];

  async function connect(
    path: string,
    options: { sampling?: (prompt: string) => string; headers?: Record<string, string> } = {},
  ) {
    const client = new Client(
      { name: 'protocol-e2e', version: '1.0.0' },
      { capabilities: options.sampling ? { sampling: {} } : {} },
    );
    const seen: string[] = [];
    if (options.sampling) {
      const answer = options.sampling;
      client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        const content = request.params.messages[0].content;
        const prompt = 'text' in content ? String(content.text) : '';
        seen.push(prompt);
        return { role: 'assistant', model: 'test', content: { type: 'text', text: answer(prompt) } };
      });
    }
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}${path}`), {
        requestInit: { headers: { Authorization: `Bearer ${MASTER_KEY}`, ...options.headers } },
      }),
    );
    clients.push(client);
    return { client, seen };
  }

  beforeAll(async () => {
    [upstream, rich] = await Promise.all([startConformanceFixture(), startRichFixture('web', 'http')]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  conf:
    url: ${upstream.url}
  conf_shared:
    url: ${upstream.url}
    session_mode: shared
  web:
    url: ${rich.url}
  conf_stdio:
    transport: stdio
    command: node
    args: [${JSON.stringify(CONFORMANCE_FIXTURE_V2)}, --transport, stdio]
`,
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await t?.close();
    await db?.drop();
    upstream?.process.kill();
    await rich?.close();
  });

  it('routes a sampling request to the one of two concurrent clients whose call asked for it', async () => {
    const a = await connect('/conf/mcp', { sampling: (p) => `answer from A to ${p}` });
    const b = await connect('/conf/mcp', { sampling: (p) => `answer from B to ${p}` });
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: 'test_sampling', arguments: { prompt: 'question A' } }),
      b.client.callTool({ name: 'test_sampling', arguments: { prompt: 'question B' } }),
    ]);
    expect(text(ra)).toBe('LLM response: answer from A to question A');
    expect(text(rb)).toBe('LLM response: answer from B to question B');
    expect(a.seen).toEqual(['question A']);
    expect(b.seen).toEqual(['question B']);
    const c = await connect('/conf/mcp', { sampling: (p) => `answer from C to ${p}` });
    expect(text(await a.client.callTool({ name: 'test_sampling', arguments: { prompt: 'again' } }))).toBe(
      'LLM response: answer from A to again',
    );
    expect(c.seen).toEqual([]);
  });

  it('a client without the sampling capability gets an error result, not a hang', async () => {
    const { client } = await connect('/conf/mcp');
    const result = (await client
      .callTool({ name: 'test_sampling', arguments: { prompt: 'x' } })
      .catch((e: Error) => ({
        isError: true,
        content: [{ type: 'text', text: e.message }],
      }))) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/does not support sampling\/createMessage|Method not found/);
  });

  it('in shared mode, a sampling request is refused with a reason', async () => {
    const { client, seen } = await connect('/conf_shared/mcp', { sampling: () => 'never' });
    const outcome = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'x' } }).then(
      (r) => text(r),
      (e: Error) => e.message,
    );
    expect(outcome).toMatch(/shared by all clients \(session_mode: shared\)/);
    expect(seen).toEqual([]);
  });

  it('cancelling a long call cancels it upstream, and no reply arrives later', async () => {
    const { client } = await connect('/web/mcp');
    const errors: Error[] = [];
    client.onerror = (error) => errors.push(error);
    const before = rich.stats.cancelled;
    const sleeping = rich.stats.sleeping;
    const controller = new AbortController();
    const call = client.callTool({ name: 'sleep', arguments: { ms: 1500 } }, undefined, {
      signal: controller.signal,
    });
    // Cancelled once the upstream is running it (polled with a deadline, not a fixed pause).
    let deadline = Date.now() + 3000;
    while (rich.stats.sleeping === sleeping && Date.now() < deadline) await sleep(10);
    expect(rich.stats.sleeping).toBe(sleeping + 1);
    controller.abort('user gave up');
    await expect(call).rejects.toThrow();
    deadline = Date.now() + 3000;
    while (rich.stats.cancelled === before && Date.now() < deadline) await sleep(25);
    expect(rich.stats.cancelled).toBe(before + 1);
    // The upstream stopped at the cancellation; whatever it did with the call came before the next answer.
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'still fine' } }))).toBe(
      'web:still fine',
    );
    expect(errors).toEqual([]);
  });

  it('relays log messages of a call and the level the client sets', async () => {
    const { client } = await connect('/conf/mcp');
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.data);
    });
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'test_tool_with_logging' });
    expect(logs).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it('relays progress with the client’s own token', async () => {
    const { client } = await connect('/conf/mcp');
    const progress: number[] = [];
    await client.callTool({ name: 'test_tool_with_progress' }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([0, 50, 100]);
  });

  it('relays progress a stdio upstream sends back to back with its result, in order, on both eras', async () => {
    // The v2 fixture writes its three notifications and the result at once: one read of the pipe holds them all.
    for (let round = 0; round < 5; round++) {
      const { client } = await connect('/conf_stdio/mcp');
      const progress: number[] = [];
      await client.callTool({ name: 'test_tool_with_progress' }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(progress).toEqual([0, 50, 100]);
    }
    const { messages: events } = await modernMessages(`${t.url}/conf_stdio/mcp`, MASTER_KEY, 'tools/call', {
      name: 'test_tool_with_progress',
      _meta: { progressToken: 'p-1' },
    });
    expect(
      events.filter((e) => e.method === 'notifications/progress').map((e) => e.params?.progress),
    ).toEqual([0, 50, 100]);
    expect(events.at(-1)?.result).toBeDefined();
  });

  it('subscribes through the gateway and completes prompt arguments', async () => {
    const { client } = await connect('/conf/mcp');
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => undefined);
    await expect(client.subscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
    await expect(client.unsubscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'par' },
    });
    expect(completion.completion.values).toEqual(['paris', 'park', 'party']);
  });

  it('refuses a foreign browser Origin (DNS rebinding) and admits a loopback one', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const post = (origin: string) =>
      fetch(`${t.url}/web/mcp`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${MASTER_KEY}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          Origin: origin,
        },
        body: JSON.stringify(init),
      });
    const evil = await post('http://evil.example.com');
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: { message: string } }).error.message).toContain(
      'mcp_allowed_origins',
    );
    const local = await post(t.url);
    expect(local.status).toBe(200);
    await local.body?.cancel();
  });
  it('applies the same origin rule on every route that reaches an upstream: REST twins and SSE opens too', async () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/mcp/tools/call', { name: 'web-echo', arguments: { message: 'x' } }],
      ['POST', '/mcp-rest/tools/call', { server_id: 'web', name: 'echo', arguments: { message: 'x' } }],
      ['GET', '/mcp/tools/list'],
      ['GET', '/mcp-rest/tools/list'],
      ['GET', '/v1/mcp/tools'],
      ['GET', '/mcp/sse'],
      ['GET', '/mcp'],
    ];
    for (const [method, route, body] of routes) {
      const res = await fetch(`${t.url}${route}`, {
        method,
        headers: {
          Authorization: `Bearer ${MASTER_KEY}`,
          Origin: 'http://evil.example',
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      expect([route, res.status]).toEqual([route, 403]);
      await res.body?.cancel();
    }
    const local = await fetch(`${t.url}/mcp/tools/call`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER_KEY}`, Origin: t.url, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'web-echo', arguments: { message: 'x' } }),
    });
    expect(local.status).toBe(200);
    await local.body?.cancel();
  });
});
