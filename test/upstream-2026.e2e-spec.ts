import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createMcpHandler, inputRequired, Server } from '@modelcontextprotocol/server';
import {
  createTestApp,
  eventually,
  modernMessages,
  modernRequest,
  provisionTestDatabase,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { CONFORMANCE_FIXTURE_V2, startConformanceFixture } from './helpers/conformance-fixture.js';

/**
 * Issue 19 (and 20's first part): the gateway as a 2026-07-28 client of upstreams that speak it. A 2026-07-28
 * client's call goes to such an upstream over 2026-07-28, so the upstream's own `input_required` (its keys, its
 * `requestState`) reaches the client, inside the gateway's sealed token, and the client's answers reach the
 * upstream, from any replica (nothing waits on the gateway). `protocol_version` decides per server: `auto`
 * (server/discover, else 2025-11-25), or pinned.
 */
const MASTER_KEY = 'sk-master-e2e-upstream-2026';
const NAME_SCHEMA = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};

describe('2026-07-28 upstreams (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: { url: string; process: ChildProcess };
  let only2026: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    [upstream, only2026] = await Promise.all([startConformanceFixture(true), startModernOnlyUpstream()]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  modern_http:
    url: ${upstream.url}
  modern_stdio:
    transport: stdio
    command: node
    args: [${JSON.stringify(CONFORMANCE_FIXTURE_V2)}, --transport, stdio]
    protocol_version: "2026-07-28"
  old_http:
    url: ${upstream.url}
    protocol_version: "2025-11-25"
  only2026:
    url: ${only2026.url}
    protocol_version: "2026-07-28"
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    upstream?.process.kill();
    await only2026?.close();
  });

  const call = (alias: string, name: string, extra: Record<string, unknown> = {}, key = MASTER_KEY) =>
    modernRequest(`${t.url}/${alias}/mcp`, key, 'tools/call', { name, arguments: {}, ...extra });

  it.each(['modern_http', 'modern_stdio'])(
    'relays the upstream’s own input_required (its keys) in a sealed state, and its answer back (%s)',
    async (alias) => {
      const first = await call(alias, 'test_input_required_result_elicitation');
      expect(first.body.result?.resultType).toBe('input_required');
      // The upstream's key, not one the gateway made up (a 2025 upstream's requests get elicitation_<n>).
      expect(first.body.result?.inputRequests).toEqual({
        user_name: {
          method: 'elicitation/create',
          params: { message: 'What is your name?', requestedSchema: NAME_SCHEMA },
        },
      });
      const state = first.body.result?.requestState ?? '';
      expect(state.startsWith('gw1.')).toBe(true);
      const done = await call(alias, 'test_input_required_result_elicitation', {
        inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } },
        requestState: state,
      });
      expect(done.body.result?.content?.[0].text).toBe('Hello, Ada!');
    },
  );

  it('carries the upstream’s requestState through several rounds, sealed (multi-round)', async () => {
    const op = 'test_input_required_result_multi_round';
    const first = await call('modern_http', op);
    expect(Object.keys(first.body.result?.inputRequests ?? {})).toEqual(['step1']);
    const second = await call('modern_http', op, {
      inputResponses: { step1: { action: 'accept', content: { name: 'Ada' } } },
      requestState: first.body.result?.requestState,
    });
    expect(Object.keys(second.body.result?.inputRequests ?? {})).toEqual(['step2']);
    // The upstream's state (which holds the name) is inside the gateway's token, not readable in it.
    const token = second.body.result?.requestState ?? '';
    expect(Buffer.from(token.slice(4), 'base64url').toString('latin1')).not.toContain('Ada');
    const done = await call('modern_http', op, {
      inputResponses: { step2: { action: 'accept', content: { color: 'blue' } } },
      requestState: token,
    });
    expect(done.body.result?.content?.[0].text).toBe('Ada likes blue');
  });

  it('refuses the sealed state of another key, a tampered one, or one sent with another tool', async () => {
    const first = await call('modern_http', 'test_input_required_result_elicitation');
    const state = first.body.result?.requestState ?? '';
    const res = await fetch(`${t.url}/key/generate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ object_permission: { mcp_servers: ['modern_http'] } }),
    });
    const other = ((await res.json()) as { key: string }).key;
    const answer = { user_name: { action: 'accept', content: { name: 'Eve' } } };
    const replay = await call(
      'modern_http',
      'test_input_required_result_elicitation',
      { inputResponses: answer, requestState: state },
      other,
    );
    expect(replay.body.error?.code).toBe(-32602);
    const flipped = `${state.slice(0, -2)}${state.at(-2) === 'A' ? 'B' : 'A'}${state.at(-1)}`;
    const tampered = await call('modern_http', 'test_input_required_result_elicitation', {
      inputResponses: answer,
      requestState: flipped,
    });
    expect(tampered.body.error?.code).toBe(-32602);
    const elsewhere = await call('modern_http', 'test_simple_text', {
      inputResponses: answer,
      requestState: state,
    });
    expect(elsewhere.body.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
  });

  it('relays the upstream’s -32021 with its data to a virtual key that did not declare the capability', async () => {
    const res = await fetch(`${t.url}/key/generate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ object_permission: { mcp_servers: ['modern_http'] } }),
    });
    const key = ((await res.json()) as { key: string }).key;
    const refused = await modernRequest(
      `${t.url}/modern_http/mcp`,
      key,
      'tools/call',
      { name: 'test_missing_capability', arguments: {} },
      { elicitation: {} },
    );
    expect(refused.body.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { sampling: {} } },
    });
  });

  it('relays progress from a 2026-07-28 upstream, in order', async () => {
    for (const alias of ['modern_http', 'modern_stdio']) {
      const { messages } = await modernMessages(`${t.url}/${alias}/mcp`, MASTER_KEY, 'tools/call', {
        name: 'test_tool_with_progress',
        arguments: {},
        _meta: { progressToken: 7 },
      });
      const progress = messages.filter((m) => m.method === 'notifications/progress');
      expect(progress.map((m) => m.params?.progress)).toEqual([0, 50, 100]);
      expect(messages.at(-1)?.result?.content?.[0].text).toBe('Tool with progress executed successfully');
    }
  });

  it('speaks 2025-11-25 to a server pinned to it: the gateway asks, under its own keys', async () => {
    const first = await call('old_http', 'test_input_required_result_elicitation');
    expect(Object.keys(first.body.result?.inputRequests ?? {})).toEqual(['elicitation_1']);
    const done = await call('old_http', 'test_input_required_result_elicitation', {
      inputResponses: { elicitation_1: { action: 'accept', content: { name: 'Ada' } } },
      requestState: first.body.result?.requestState,
    });
    expect(done.body.result?.content?.[0].text).toBe('Hello, Ada!');
  });

  it('serves a 2026-only upstream pinned to 2026-07-28 to a 2025 session: lists, and its questions asked', async () => {
    const client = new Client({ name: 'old', version: '1' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { name: 'Ada' } };
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/only2026/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${MASTER_KEY}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(['ask_name', 'whoami']);
      const answer = (await client.callTool({ name: 'ask_name', arguments: {} })) as CallToolResult;
      expect(answer.content[0]).toEqual({ type: 'text', text: 'hi Ada' });
      expect(asked).toEqual(['Your name?']);
    } finally {
      await client.close();
    }
    // A 2026-07-28 client gets the upstream's own question.
    const modern = await call('only2026', 'ask_name');
    expect(Object.keys(modern.body.result?.inputRequests ?? {})).toEqual(['who']);
  });

  it('lists a 2026-07-28 server again once the ttlMs it gave has passed', async () => {
    const names = async () => {
      const res = await fetch(`${t.url}/mcp/tools/list`, {
        headers: { Authorization: `Bearer ${MASTER_KEY}`, 'x-mcp-servers': 'only2026' },
      });
      return ((await res.json()) as { tools: { name: string }[] }).tools.map((tool) => tool.name).sort();
    };
    expect(await names()).not.toContain('only2026-late');
    lateTool.offered = true;
    // Still fresh: the gateway serves what it listed.
    expect(await names()).not.toContain('only2026-late');
    // Listed again once its second has passed.
    await eventually('the new tool listed', async () => (await names()).includes('only2026-late'), 5000);
    lateTool.offered = false;
  });

  it('REST reaches a 2026-only upstream; a tool that needs input is refused, saying why', async () => {
    const rest = (name: string) =>
      fetch(`${t.url}/mcp/tools/call`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `only2026-${name}`, arguments: {} }),
      });
    const ok = await rest('whoami');
    expect(JSON.stringify(await ok.json())).toContain('only-2026');
    const needs = await rest('ask_name');
    // REST declares nothing it can be asked: the upstream itself refuses (-32021), and the caller reads why.
    expect(needs.status).toBe(502);
    expect(JSON.stringify(await needs.json())).toContain(
      "Cannot request input 'who' (elicitation/create): the request's client capabilities do not declare the required capability",
    );
  });

  it('stores, shows and validates protocol_version through the admin API', async () => {
    const headers = { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' };
    const bad = await fetch(`${t.url}/v1/mcp/server`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ server_name: 'pv_bad', url: upstream.url, protocol_version: '2026' }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain(
      'protocol_version must be one of auto, 2025-11-25, 2026-07-28',
    );
    const made = await fetch(`${t.url}/v1/mcp/server`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ server_name: 'pv_good', url: upstream.url, protocol_version: '2026-07-28' }),
    });
    expect(made.status).toBeLessThan(300);
    const listed = (await (await fetch(`${t.url}/v1/mcp/server`, { headers })).json()) as {
      server_name: string;
      protocol_version: string;
    }[];
    expect(listed.find((s) => s.server_name === 'pv_good')?.protocol_version).toBe('2026-07-28');
    expect(listed.find((s) => s.server_name === 'modern_http')?.protocol_version).toBe('auto');
  });
});

/**
 * An upstream that speaks 2026-07-28 only (2025 requests refused), on SDK v2: `whoami`, and `ask_name`, which asks
 * its client for a name (input_required) before it answers.
 */
const lateTool = { offered: false };

async function startModernOnlyUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const handler = createMcpHandler(
    () => {
      const server = new Server({ name: 'only-2026', version: '1.0.0' }, { capabilities: { tools: {} } });
      // Fresh for one second; `late` appears once the test says so.
      server.setRequestHandler('tools/list', () => ({
        tools: [
          { name: 'whoami', inputSchema: { type: 'object' as const } },
          { name: 'ask_name', inputSchema: { type: 'object' as const } },
          ...(lateTool.offered ? [{ name: 'late', inputSchema: { type: 'object' as const } }] : []),
        ],
        ttlMs: 1000,
      }));
      server.setRequestHandler('tools/call', (request, ctx) => {
        if (request.params.name === 'whoami') return { content: [{ type: 'text', text: 'only-2026' }] };
        const answer = ctx.mcpReq.inputResponses?.who as { content?: { name?: string } } | undefined;
        if (!answer)
          return inputRequired({
            inputRequests: {
              who: {
                method: 'elicitation/create',
                params: { message: 'Your name?', requestedSchema: NAME_SCHEMA },
              },
            },
          });
        return { content: [{ type: 'text', text: `hi ${answer.content?.name}` }] };
      });
      return server;
    },
    { legacy: 'reject' },
  );
  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string' && name !== 'content-length') headers.set(name, value);
      const body = Buffer.concat(chunks).toString('utf8');
      const response = await handler.fetch(
        new Request(`http://${req.headers.host}${req.url}`, {
          method: req.method,
          headers,
          ...(body ? { body } : {}),
        }),
      );
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await handler.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
