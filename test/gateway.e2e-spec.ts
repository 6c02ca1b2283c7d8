import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  closedPort,
  createTestApp,
  LONG_TOOL_NAME,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { McpFastLane, McpSessionManager, SKIPPED_META_KEY } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

const MASTER_KEY = 'sk-master-e2e-gateway';
const STDIO_FIXTURE = path.resolve('test/fixtures/stdio-rich-server.mjs');
/** The reference server of the MCP project, over stdio. */
const EVERYTHING = path.resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('MCP gateway endpoint (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let httpUp: RichFixture;
  let sseUp: RichFixture;
  const clients: Client[] = [];
  let keyA: string;
  let keyB: string;
  let keyNone: string;
  const api = () => request(t.url);
  const master = { Authorization: `Bearer ${MASTER_KEY}` };

  async function connect(
    key: string,
    options: { path?: string; sse?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Client> {
    const url = new URL(`${t.url}${options.path ?? (options.sse ? '/mcp/' : '/mcp')}`);
    const headers = { Authorization: `Bearer ${key}`, ...options.headers };
    const transport = options.sse
      ? new SSEClientTransport(url, {
          requestInit: { headers },
          eventSourceInit: {
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
          },
        })
      : new StreamableHTTPClientTransport(url, { requestInit: { headers } });
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  }
  const toolNames = async (client: Client) =>
    (await client.listTools()).tools.map((tool) => tool.name).sort();

  beforeAll(async () => {
    [httpUp, sseUp] = await Promise.all([startRichFixture('web', 'http'), startRichFixture('legacy', 'sse')]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${httpUp.url}
    mcp_access_groups: [team_a]
  legacy:
    url: ${sseUp.url}
    transport: sse
  local:
    transport: stdio
    command: node
    args: [${STDIO_FIXTURE}]
    env: { FIXTURE_NAME: local }
    mcp_access_groups: [team_a]
  slow:
    url: ${httpUp.url}
    timeout_ms: 500
  hdr:
    url: ${httpUp.url}
    extra_headers: [x-trace-id]
    static_headers: { x-static: fixed }
  everything:
    transport: stdio
    command: node
    args: [${EVERYTHING}, stdio]
general_settings:
  max_tool_name_length: 40
  allow_stdio_from_api: true
`,
    });
    await api()
      .post('/team/new')
      .set(master)
      .send({ team_id: 'a', object_permission: { mcp_access_groups: ['team_a'] } })
      .expect(200);
    await api()
      .post('/team/new')
      .set(master)
      .send({ team_id: 'b', object_permission: { mcp_servers: ['legacy'] } })
      .expect(200);
    keyA = (await api().post('/key/generate').set(master).send({ team_id: 'a' }).expect(200)).body.key;
    keyB = (await api().post('/key/generate').set(master).send({ team_id: 'b' }).expect(200)).body.key;
    keyNone = (await api().post('/key/generate').set(master).send({}).expect(200)).body.key;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await t?.close();
    await db?.drop();
    await Promise.all([httpUp?.close(), sseUp?.close()]);
  });

  describe('aggregation', () => {
    it('lists the prefixed tools of all three upstreams (Streamable HTTP client) and calls one of each', async () => {
      const client = await connect(MASTER_KEY);
      const names = await toolNames(client);
      for (const name of ['web-echo', 'legacy-echo', 'local-echo', 'local-pid', 'web-counter', 'slow-echo'])
        expect(names).toContain(name);
      expect(text(await client.callTool({ name: 'web-echo', arguments: { message: 'hi' } }))).toBe('web:hi');
      expect(text(await client.callTool({ name: 'legacy-echo', arguments: { message: 'hi' } }))).toBe(
        'legacy:hi',
      );
      expect(text(await client.callTool({ name: 'local-echo', arguments: { message: 'hi' } }))).toBe(
        'local:hi',
      );
      expect(client.getServerVersion()?.name).toBe('mcp-gateway');
      // The first session of a fresh gateway already carries the upstreams' instructions, under their aliases.
      expect(client.getInstructions()).toContain('## web\nUse web for testing.');
      expect(client.getInstructions()).toContain('## legacy\nUse legacy for testing.');
    });

    it('proxies the reference server-everything over stdio: tools, resources and prompts', async () => {
      const client = await connect(MASTER_KEY, { sse: true });
      expect(await toolNames(client)).toEqual(
        expect.arrayContaining(['everything-echo', 'everything-get-sum']),
      );
      expect(text(await client.callTool({ name: 'everything-echo', arguments: { message: 'ref' } }))).toBe(
        'Echo: ref',
      );
      const sum = await client.callTool({ name: 'everything-get-sum', arguments: { a: 2, b: 3 } });
      expect(text(sum)).toContain('5');
      const { resources } = await client.listResources();
      const fromEverything = resources.find((r) => r.uri.startsWith('demo://'));
      expect(fromEverything).toBeDefined();
      const read = await client.readResource({ uri: (fromEverything as { uri: string }).uri });
      expect(read.contents.length).toBeGreaterThan(0);
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toContain('everything-simple-prompt');
      const prompt = await client.getPrompt({ name: 'everything-simple-prompt' });
      expect(prompt.messages.length).toBeGreaterThan(0);
    });

    it('serves the same over legacy SSE at /mcp/ (the product page client)', async () => {
      const client = await connect(keyA, { sse: true });
      expect(await toolNames(client)).toEqual(expect.arrayContaining(['web-echo', 'local-echo']));
      expect(text(await client.callTool({ name: 'local-echo', arguments: { message: 'sse' } }))).toBe(
        'local:sse',
      );
    });

    it('lists and reads resources, lists and gets prompts, through the gateway', async () => {
      const client = await connect(MASTER_KEY);
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(
        expect.arrayContaining(['fixture://web/readme', 'fixture://legacy/readme', 'stdio://local/notes']),
      );
      const read = await client.readResource({ uri: 'fixture://legacy/readme' });
      expect(read.contents[0]).toMatchObject({ text: 'legacy says: fixture://legacy/readme' });
      const templated = await client.readResource({ uri: 'fixture://web/items/42' });
      expect(templated.contents[0]).toMatchObject({ text: 'web says: fixture://web/items/42' });
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((r) => r.uriTemplate)).toContain('fixture://web/items/{id}');
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['web-greet', 'local-hello']));
      const prompt = await client.getPrompt({ name: 'web-greet', arguments: { who: 'ada' } });
      expect(prompt.messages[0].content).toMatchObject({ text: 'web greets ada' });
    });

    it('shortens long names deterministically and still routes them', async () => {
      const client = await connect(MASTER_KEY);
      const long = (await toolNames(client)).filter((n) => n.startsWith('web-summarise'));
      expect(long).toHaveLength(1);
      expect(long[0]).toHaveLength(40);
      expect(long[0]).toMatch(/_[0-9a-f]{8}$/);
      expect(text(await client.callTool({ name: long[0] }))).toBe('long:web');
    });

    it('accepts an unambiguous unprefixed name, and refuses an ambiguous one like an unknown tool', async () => {
      const client = await connect(keyA);
      expect(text(await client.callTool({ name: 'pid' }))).toMatch(/^\d+$/);
      await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toThrow(
        /ambiguous/,
      );
    });

    it('serves one upstream with its own names at /{alias}/mcp', async () => {
      const client = await connect(MASTER_KEY, { path: '/web/mcp' });
      expect(await toolNames(client)).toEqual(['counter', 'echo', 'sleep', LONG_TOOL_NAME].sort());
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'direct' } }))).toBe(
        'web:direct',
      );
    });
  });

  describe('scoping', () => {
    it('a key of team A sees only team A servers, over MCP and REST', async () => {
      const client = await connect(keyA);
      const names = await toolNames(client);
      expect(names.every((n) => n.startsWith('web-') || n.startsWith('local-'))).toBe(true);
      const res = await api().get('/mcp/tools/list').set('Authorization', `Bearer ${keyA}`).expect(200);
      const servers = new Set(
        res.body.tools.map((tool: { mcp_info: { alias: string } }) => tool.mcp_info.alias),
      );
      expect([...servers].sort()).toEqual(['local', 'web']);
    });

    it('session calls take the fast lane; a request that fails a check gets the full pipeline and its usual answer', async () => {
      const lane = t.app.get(McpFastLane);
      const client = await connect(keyA);
      const before = lane.served;
      await client.listTools();
      await client.callTool({ name: 'local-echo', arguments: { message: 'x' } });
      expect(lane.served - before).toBe(2);
      const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId ?? '';
      const post = (
        headers: Record<string, string>,
        body = '{"jsonrpc":"2.0","id":9,"method":"tools/list"}',
      ) =>
        fetch(`${t.url}/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            ...headers,
          },
          body,
        });
      const served = lane.served;
      // Another key with this session's id: not its session (404, as before).
      const other = await post({ authorization: `Bearer ${keyB}` });
      expect(other.status).toBe(404);
      // A key that is not valid: 401 in the API's error shape.
      const invalid = await post({ authorization: 'Bearer sk-not-a-key' });
      expect(invalid.status).toBe(401);
      expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      // A foreign browser origin: 403 (DNS-rebinding protection).
      const foreign = await post({ authorization: `Bearer ${keyA}`, origin: 'http://evil.example' });
      expect(foreign.status).toBe(403);
      expect(lane.served).toBe(served);
      // Its own key: served by the lane, with a request id and a JSON answer.
      const ok = await post({ authorization: `Bearer ${keyA}` });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-request-id')).toBeTruthy();
      expect(((await ok.json()) as { id: number }).id).toBe(9);
      // A body that is not JSON: a JSON-RPC parse error.
      const garbled = await post({ authorization: `Bearer ${keyA}` }, '{"jsonrpc":');
      expect(garbled.status).toBe(400);
      expect(((await garbled.json()) as { error: { code: number } }).error.code).toBe(-32700);
      expect(lane.served).toBe(served + 2);
    });

    it('legacy SSE session messages take the fast lane too', async () => {
      const lane = t.app.get(McpFastLane);
      const client = await connect(keyA, { sse: true });
      const before = lane.served;
      const result = await client.callTool({ name: 'local-echo', arguments: { message: 'via sse' } });
      expect(text(result)).toContain('via sse');
      expect(lane.served - before).toBe(1);
    });

    it("calling another team's tool fails exactly like an unknown tool", async () => {
      const client = await connect(keyA);
      const message = (name: string) =>
        client.callTool({ name, arguments: {} }).then(
          () => 'no error',
          (e: Error) => e.message,
        );
      const hidden = await message('legacy-echo');
      expect(hidden).toContain('unknown tool');
      expect(hidden.replace('legacy-echo', 'X')).toBe(
        (await message('nosuch-echo')).replace('nosuch-echo', 'X'),
      );
      const rest = await api()
        .post('/mcp/tools/call')
        .set('Authorization', `Bearer ${keyA}`)
        .send({ name: 'legacy-echo', arguments: {} })
        .expect(404);
      expect(rest.body.error.code).toBe('TOOL_NOT_FOUND');
    });

    it('x-mcp-servers narrows a session, and an unknown name is a 400 listing the valid ones', async () => {
      const client = await connect(keyA, { headers: { 'x-mcp-servers': 'local' } });
      expect((await toolNames(client)).every((n) => n.startsWith('local-'))).toBe(true);
      const res = await api()
        .get('/mcp/tools/list')
        .set('Authorization', `Bearer ${keyA}`)
        .set('x-mcp-servers', 'legacy')
        .expect(400);
      expect(res.body.error.code).toBe('UNKNOWN_MCP_SERVER');
      expect(res.body.error.message).toContain('this key may use: local, web');
      const narrowed = await connect(MASTER_KEY, { path: '/mcp/legacy,local' });
      expect(new Set((await toolNames(narrowed)).map((n) => n.split('-')[0]))).toEqual(
        new Set(['legacy', 'local']),
      );
    });

    it('a key with no grant gets a 403 that names the cause, at connect and over REST', async () => {
      const res = await api()
        .post('/mcp')
        .set('Authorization', `Bearer ${keyNone}`)
        .set('Accept', 'application/json, text/event-stream')
        .send({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        })
        .expect(403);
      expect(res.body.error.code).toBe('NO_MCP_ACCESS');
      expect(res.body.error.message).toContain('no MCP server is granted');
      await expect(connect(keyNone)).rejects.toThrow();
      const rest = await api().get('/mcp/tools/list').set('Authorization', `Bearer ${keyNone}`).expect(403);
      expect(rest.body.error.code).toBe('NO_MCP_ACCESS');
    });

    it('REST twins: enabled, call by exposed name, and by server_id with the upstream name', async () => {
      const auth = { Authorization: `Bearer ${keyB}` };
      expect((await api().get('/mcp/enabled').set(auth).expect(200)).body).toEqual({ enabled: true });
      const call = await api()
        .post('/mcp/tools/call')
        .set(auth)
        .send({ name: 'legacy-echo', arguments: { message: 'r' } })
        .expect(200);
      expect(call.body.content[0].text).toBe('legacy:r');
      const byServer = await api()
        .post('/mcp-rest/tools/call')
        .set(auth)
        .send({ server_id: 'legacy', name: 'echo', arguments: { message: 's' } })
        .expect(200);
      expect(byServer.body.content[0].text).toBe('legacy:s');
      const v1 = await api().get('/v1/mcp/tools').set(auth).expect(200);
      expect(v1.body.tools.map((tool: { name: string }) => tool.name)).toContain('legacy-echo');
      await api().post('/mcp/tools/call').set(auth).send({ arguments: {} }).expect(400);
    });
  });

  describe('credentials', () => {
    it('sends extra_headers, static headers and x-mcp-{alias}-* upstream, never the gateway key', async () => {
      const client = await connect(MASTER_KEY, {
        path: '/hdr/mcp',
        headers: { 'x-trace-id': 'trace-42', 'x-mcp-hdr-authorization': 'Bearer upstream-token-7' },
      });
      const from = httpUp.requestHeaders.length;
      await client.callTool({ name: 'echo', arguments: { message: 'h' } });
      const sent = httpUp.requestHeaders.slice(from);
      expect(sent.length).toBeGreaterThan(0);
      for (const headers of sent) {
        expect(headers).toMatchObject({
          'x-trace-id': 'trace-42',
          'x-static': 'fixed',
          authorization: 'Bearer upstream-token-7',
        });
        expect(JSON.stringify(headers)).not.toContain(MASTER_KEY);
      }
    });

    it('x-mcp-auth becomes the upstream credential; without it nothing of the caller is forwarded', async () => {
      const res = await api()
        .post('/mcp/tools/call')
        .set(master)
        .set('x-mcp-auth', 'per-request-token')
        .send({ name: 'hdr-echo', arguments: { message: 'a' } })
        .expect(200);
      expect(res.body.content[0].text).toBe('web:a');
      expect(httpUp.requestHeaders.at(-1)).toMatchObject({ authorization: 'per-request-token' });
      const from = httpUp.requestHeaders.length;
      await api()
        .post('/mcp/tools/call')
        .set(master)
        .send({ name: 'web-echo', arguments: { message: 'b' } })
        .expect(200);
      for (const headers of httpUp.requestHeaders.slice(from)) {
        expect(headers.authorization).toBeUndefined();
        expect(headers['x-litellm-api-key']).toBeUndefined();
      }
    });
  });

  describe('sessions', () => {
    it('N calls in one client session use one upstream session; two client sessions never share state', async () => {
      const first = await connect(MASTER_KEY, { path: '/web/mcp' });
      const before = httpUp.stats.sessions;
      const counts: string[] = [];
      for (let i = 0; i < 5; i++) counts.push(text(await first.callTool({ name: 'counter' })));
      expect(counts).toEqual(['1', '2', '3', '4', '5']);
      expect(httpUp.stats.sessions - before).toBe(1);
      const second = await connect(MASTER_KEY, { path: '/web/mcp' });
      expect(text(await second.callTool({ name: 'counter' }))).toBe('1');
      expect(text(await first.callTool({ name: 'counter' }))).toBe('6');
    });

    it('session_mode shared: every client session uses the one upstream session', async () => {
      const created = await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'webshared', url: httpUp.url, session_mode: 'shared' })
        .expect(201);
      expect(created.body.session_mode).toBe('shared');
      try {
        const one = await connect(MASTER_KEY, { path: '/webshared/mcp' });
        const two = await connect(MASTER_KEY, { path: '/webshared/mcp' });
        const first = Number(text(await one.callTool({ name: 'counter' })));
        expect(Number(text(await two.callTool({ name: 'counter' })))).toBe(first + 1);
      } finally {
        await api().delete('/v1/mcp/server/webshared').set(master).expect(202);
      }
    });

    it('DELETE ends a session and its upstream sessions', async () => {
      const client = await connect(MASTER_KEY, { path: '/web/mcp' });
      await client.callTool({ name: 'counter' });
      const manager = t.app.get(McpSessionManager);
      const before = manager.stats();
      const endedUpstream = httpUp.stats.ended;
      await (client.transport as StreamableHTTPClientTransport).terminateSession();
      const after = manager.stats();
      // The upstream session is ended on the upstream too (DELETE), not left to its idle timeout.
      await until('the upstream session to be ended', () =>
        Promise.resolve(httpUp.stats.ended > endedUpstream ? true : undefined),
      );
      expect(after.client_sessions).toBe(before.client_sessions - 1);
      expect(after.client_connections).toBe(before.client_connections - 1);
      const shown = await api().get('/v1/mcp/sessions').set(master).expect(200);
      expect(shown.body).toMatchObject({
        client_sessions: after.client_sessions,
        stdio_processes: expect.any(Number),
      });
      await api().get('/v1/mcp/sessions').set('Authorization', `Bearer ${keyA}`).expect(403);
    });
  });

  describe('faults', () => {
    it('an upstream that lost its sessions (restarted): the call goes through on a new upstream session', async () => {
      const client = await connect(MASTER_KEY, { path: '/web/mcp' });
      expect(text(await client.callTool({ name: 'counter' }))).toBe('1');
      expect(text(await client.callTool({ name: 'counter' }))).toBe('2');
      const sessions = httpUp.stats.sessions;
      httpUp.forgetSessions();
      // Refused before anything ran (the fixture answers 400 "Server not initialized", like SDK examples),
      // so the gateway retries once on a fresh session: the counter starts over, nothing fails.
      expect(text(await client.callTool({ name: 'counter' }))).toBe('1');
      // (+2: the fixture builds a server for the refused request too, then one for the new initialize.)
      expect(httpUp.stats.sessions).toBe(sessions + 2);
      expect(text(await client.callTool({ name: 'counter' }))).toBe('2');
    });

    it('a timeout becomes an error result at the configured time, not a hang', async () => {
      const client = await connect(MASTER_KEY);
      const started = Date.now();
      const result = (await client.callTool({
        name: 'slow-sleep',
        arguments: { ms: 5000 },
      })) as CallToolResult;
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('did not answer sleep within 500 ms');
    });

    it('a dead upstream never blanks the list: the others are served and _meta says who was skipped', async () => {
      const port = await closedPort();
      await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({ server_name: 'dead', url: `http://127.0.0.1:${port}/mcp` })
        .expect(201);
      try {
        const client = await connect(MASTER_KEY);
        const listed = await client.listTools();
        expect(listed.tools.map((tool) => tool.name)).toContain('web-echo');
        const skipped = listed._meta?.[SKIPPED_META_KEY] as { server_name: string; message: string }[];
        expect(skipped.map((s) => s.server_name)).toEqual(['dead']);
        expect(skipped[0].message).toContain('unavailable');
        const started = Date.now();
        const call = (await client.callTool({ name: 'dead-echo', arguments: {} })) as CallToolResult;
        expect(call.isError).toBe(true);
        expect(text(call)).toMatch(/^MCP server dead is unavailable/);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await api().delete('/v1/mcp/server/dead').set(master).expect(202);
      }
    });

    it('a killed stdio upstream comes back by itself while the others keep working', async () => {
      const client = await connect(MASTER_KEY);
      const pid = Number(text(await client.callTool({ name: 'local-pid' })));
      process.kill(pid, 'SIGKILL');
      expect(text(await client.callTool({ name: 'web-echo', arguments: { message: 'still' } }))).toBe(
        'web:still',
      );
      const newPid = await until('the stdio upstream to come back', async () => {
        const result = (await client.callTool({ name: 'local-pid' })) as CallToolResult;
        return result.isError ? undefined : Number(text(result));
      });
      expect(newPid).not.toBe(pid);
    });

    it('a registry change reaches a connected client as tools/list_changed, and the next list shows it', async () => {
      const client = await connect(MASTER_KEY);
      await client.listTools();
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({
          server_name: 'extra',
          transport: 'stdio',
          command: 'node',
          args: [STDIO_FIXTURE],
          env: { FIXTURE_NAME: 'extra' },
        })
        .expect(201);
      await until('tools/list_changed', () => Promise.resolve(changed > 0 ? true : undefined));
      expect(await toolNames(client)).toContain('extra-echo');
      const pid = Number(text(await client.callTool({ name: 'extra-pid' })));
      expect(alive(pid)).toBe(true);
      await api().delete('/v1/mcp/server/extra').set(master).expect(202);
      await until('the deleted stdio server to exit', () => Promise.resolve(alive(pid) ? undefined : true));
      expect(await toolNames(client)).not.toContain('extra-echo');
    });
  });

  describe('process tree', () => {
    it('deleting a stdio server started through a launcher kills the server behind it too', async () => {
      const launcher = path.resolve('test/fixtures/stdio-launcher.mjs');
      await api()
        .post('/v1/mcp/server')
        .set(master)
        .send({
          server_name: 'launched',
          transport: 'stdio',
          command: 'node',
          args: [launcher, STDIO_FIXTURE],
          env: { FIXTURE_NAME: 'launched', FIXTURE_LINGER: '1' },
        })
        .expect(201);
      const client = await connect(MASTER_KEY, { path: '/launched/mcp' });
      const pid = Number(text(await client.callTool({ name: 'pid' })));
      expect(alive(pid)).toBe(true);
      await api().delete('/v1/mcp/server/launched').set(master).expect(202);
      await until('the server behind the launcher to be killed', () =>
        Promise.resolve(alive(pid) ? undefined : true),
      );
    });
  });

  describe('logs', () => {
    it('audits every tool call: who, server, tool, outcome, duration', () => {
      const calls = t.logs.records().filter((r) => r.context === 'Audit' && r.msg === 'tool call');
      expect(calls.length).toBeGreaterThan(10);
      expect(calls).toContainEqual(
        expect.objectContaining({
          via: 'mcp',
          key_name: 'master_key',
          server: 'web',
          tool: 'echo',
          outcome: 'ok',
        }),
      );
      expect(calls).toContainEqual(
        expect.objectContaining({ via: 'rest', team_id: 'b', server: 'legacy', tool: 'echo', outcome: 'ok' }),
      );
      expect(calls).toContainEqual(
        expect.objectContaining({ server: 'slow', tool: 'sleep', outcome: 'timeout' }),
      );
      expect(calls).toContainEqual(
        expect.objectContaining({ server: 'dead', outcome: 'upstream_error', failure: 'unavailable' }),
      );
      expect(calls).toContainEqual(expect.objectContaining({ server: null, outcome: 'denied' }));
      const keyed = calls.find((c) => c.team_id === 'a');
      expect(keyed?.key_name).toMatch(/^sk-\.\.\.\S{4}$/);
    });

    it('never logs a key', () => {
      const logs = t.logs.text();
      for (const key of [MASTER_KEY, keyA, keyB, keyNone]) expect(logs).not.toContain(key);
    });
  });
});
