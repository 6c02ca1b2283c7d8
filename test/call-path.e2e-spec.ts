import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  createTestApp,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
  waitFor,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * The one tool-call path (issue 13): MCP sessions and the REST twins behave alike when an upstream restarts,
 * hangs, or the client goes away; every message that reaches a session gets exactly one answer.
 */
const MASTER_KEY = 'sk-master-e2e-call-path';
const SILENT = path.resolve('test/fixtures/stdio-silent-server.mjs');
const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
const auth = { Authorization: `Bearer ${MASTER_KEY}` };
const mcpHeaders = {
  ...auth,
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
};

describe('one tool-call path for MCP and REST (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let web: RichFixture;
  const clients: Client[] = [];
  const api = () => request(t.url);

  async function connect(endpoint: string): Promise<Client> {
    const client = new Client({ name: 'call-path-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}${endpoint}`), { requestInit: { headers: auth } }),
    );
    clients.push(client);
    return client;
  }

  /** A raw session on `/web/mcp`: its id, and a poster of JSON bodies on it. */
  async function rawSession() {
    const init = await fetch(`${t.url}/web/mcp`, {
      method: 'POST',
      headers: mcpHeaders,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    expect(init.status).toBe(200);
    await init.text();
    const id = init.headers.get('mcp-session-id') ?? '';
    const headers = { ...mcpHeaders, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    const post = (body: unknown, signal?: AbortSignal) =>
      fetch(`${t.url}/web/mcp`, { method: 'POST', headers, body: JSON.stringify(body), signal });
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    return { id, post };
  }

  beforeAll(async () => {
    web = await startRichFixture('web', 'http');
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  web:
    url: ${web.url}
  hung:
    transport: stdio
    command: node
    args: [${SILENT}]
    timeout_ms: 1500
`,
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await t?.close();
    await db?.drop();
    await web?.close();
  });

  describe('an HTTP upstream restarted in place costs no failed call', () => {
    it('over MCP', async () => {
      const client = await connect('/web/mcp');
      expect(text(await client.callTool({ name: 'counter' }))).toBe('1');
      await web.restart();
      const after = (await client.callTool({ name: 'counter' })) as CallToolResult;
      expect(after.isError).toBeFalsy();
      expect(text(after)).toBe('1');
    });

    it('over REST', async () => {
      await api()
        .post('/mcp/tools/call')
        .set(auth)
        .send({ name: 'web-echo', arguments: { message: 'before' } })
        .expect(200);
      await web.restart();
      const res = await api()
        .post('/mcp/tools/call')
        .set(auth)
        .send({ name: 'web-echo', arguments: { message: 'after' } });
      expect([res.status, res.body.error?.message]).toEqual([200, undefined]);
      expect(res.body.content[0].text).toBe('web:after');
    });
  });

  it('an HTTP upstream restarted 6 times within a minute is no crash loop: every REST call goes through', async () => {
    for (let i = 0; i < 6; i++) {
      await web.restart();
      const res = await api()
        .post('/mcp/tools/call')
        .set(auth)
        .send({ name: 'web-echo', arguments: { message: `round ${i}` } });
      expect([res.status, res.body.error?.message]).toEqual([200, undefined]);
      expect(res.body.content[0].text).toBe(`web:round ${i}`);
    }
  });

  it('an upstream restarted with a new tool: connected clients are told, and the next list shows it', async () => {
    const client = await connect('/mcp');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('web-added');
    let changed = 0;
    const notes = new EventEmitter();
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
      notes.emit('list_changed');
    });
    web.addTool('added');
    await web.restart();
    // No call forces a reconnect: the gateway learns of the restart on its own (the event stream's answer).
    await waitFor(notes, 'list_changed', () => changed > 0, 'tools/list_changed', 10_000);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('web-added');
    expect(text(await client.callTool({ name: 'web-added' }))).toBe('added:web');
  });

  it('passes only end-to-end headers from x-mcp-{alias}-*: no host, framing or mcp-* header reaches the upstream', async () => {
    const before = web.requestHeaders.length;
    const res = await api()
      .post('/mcp/tools/call')
      .set({
        ...auth,
        'x-mcp-web-host': 'evil.example',
        'x-mcp-web-transfer-encoding': 'chunked',
        'x-mcp-web-content-length': '3',
        'x-mcp-web-mcp-session-id': 'forged',
        'x-mcp-web-connection': 'close',
        'x-mcp-web-x-team': 'kept',
      })
      .send({ name: 'web-echo', arguments: { message: 'headers' } });
    expect(res.status).toBe(200);
    const sent = web.requestHeaders.slice(before).filter((h) => h['x-team'] === 'kept');
    expect(sent.length).toBeGreaterThan(0);
    for (const headers of sent) {
      expect(headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(headers['transfer-encoding']).toBeUndefined();
      expect(headers['mcp-session-id']).not.toBe('forged');
      expect(headers.connection).not.toBe('close');
    }
  });

  describe('timeout_ms bounds a call to a server that never finishes initialize', () => {
    it('over MCP: an error result at the configured time', async () => {
      const client = await connect('/mcp');
      const started = Date.now();
      const result = (await client.callTool({ name: 'hung-anything' })) as CallToolResult;
      const took = Date.now() - started;
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/hung/);
      expect(took).toBeLessThan(4000);
    });

    it('over REST: 504 or 502 within the bound, never a hang', async () => {
      const started = Date.now();
      const res = await api().post('/mcp/tools/call').set(auth).send({ name: 'hung-anything' });
      expect([502, 504]).toContain(res.status);
      expect(res.body.error.message).toMatch(/hung/);
      expect(Date.now() - started).toBeLessThan(4000);
    });
  });

  describe('a client that goes away mid-call cancels the upstream call', () => {
    it('over MCP (the POST socket closes)', async () => {
      const { post } = await rawSession();
      const { sleeping, cancelled } = web.stats;
      const controller = new AbortController();
      const call = post(
        { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sleep', arguments: { ms: 30_000 } } },
        controller.signal,
      ).catch(() => null);
      await web.until('the upstream to run the call', (stats) => stats.sleeping > sleeping);
      controller.abort();
      await call;
      await web.until('the upstream to see the cancellation', (stats) => stats.cancelled > cancelled);
    });

    it('over REST (the request socket closes)', async () => {
      const { sleeping, cancelled } = web.stats;
      const controller = new AbortController();
      const call = fetch(`${t.url}/mcp/tools/call`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'web-sleep', arguments: { ms: 30_000 } }),
        signal: controller.signal,
      }).catch(() => null);
      await web.until('the upstream to run the call', (stats) => stats.sleeping > sleeping);
      controller.abort();
      await call;
      await web.until('the upstream to see the cancellation', (stats) => stats.cancelled > cancelled);
      await waitFor(
        t.logs,
        'line',
        () =>
          t.logs
            .records()
            .some((r) => r.context === 'Audit' && r.via === 'rest' && r.outcome === 'cancelled'),
        'the audit line',
      );
    });
  });

  it('notifications/cancelled cancels upstream and lets the original POST go at once', async () => {
    const { post } = await rawSession();
    const { sleeping, cancelled } = web.stats;
    const started = Date.now();
    const call = post({
      jsonrpc: '2.0',
      id: 'long',
      method: 'tools/call',
      params: { name: 'sleep', arguments: { ms: 30_000 } },
    });
    await web.until('the upstream to run the call', (stats) => stats.sleeping > sleeping);
    const cancel = await post({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'long', reason: 'user gave up' },
    });
    expect(cancel.status).toBe(202);
    const answered = await call;
    expect(answered.status).toBe(200);
    // No JSON-RPC answer for a cancelled request (MCP), but the HTTP exchange ends.
    expect(await answered.text()).not.toContain('slept');
    expect(Date.now() - started).toBeLessThan(10_000);
    await web.until('the upstream to see the cancellation', (stats) => stats.cancelled > cancelled);
  });

  describe('every message that reaches a session gets exactly one answer', () => {
    const invalidIds: [string, unknown][] = [
      ['a fractional id', 1.5],
      ['an id beyond the safe integers', 1e308],
    ];
    it.each(invalidIds)('%s: a JSON-RPC error with id null', async (_what, id) => {
      const { post } = await rawSession();
      const res = await post({ jsonrpc: '2.0', id, method: 'ping' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { id: unknown; error: { code: number; message: string } };
      expect(body.id).toBeNull();
      expect(body.error.message).toMatch(/id must be a string or an integer/);
    });

    const badParams: [string, string, unknown][] = [
      ['tools/list with params [1]', 'tools/list', [1]],
      ['tools/call with params "x"', 'tools/call', 'x'],
    ];
    it.each(badParams)('%s: a JSON-RPC error with the request id', async (_what, method, params) => {
      const { post } = await rawSession();
      const res = await post({ jsonrpc: '2.0', id: 42, method, params });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: unknown; error: { code: number; message: string } };
      expect(body).toEqual({
        jsonrpc: '2.0',
        id: 42,
        error: { code: -32602, message: 'Invalid params: params must be an object' },
      });
    });

    it('two concurrent POSTs with one id: the first gets its answer, the second an error', async () => {
      const { post } = await rawSession();
      const { sleeping } = web.stats;
      const first = post({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'sleep', arguments: { ms: 300 } },
      });
      await web.until('the upstream to run the first call', (stats) => stats.sleeping > sleeping);
      const second = await post({ jsonrpc: '2.0', id: 5, method: 'ping' });
      const refused = (await second.json()) as { id: unknown; error: { message: string } };
      expect(refused.id).toBe(5);
      expect(refused.error.message).toMatch(/in use by a request in flight/);
      const answered = (await (await first).json()) as { id: unknown; result: CallToolResult };
      expect(answered.id).toBe(5);
      expect(text(answered.result)).toBe('slept');
    });
  });
});
