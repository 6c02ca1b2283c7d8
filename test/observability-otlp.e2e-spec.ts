import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Tracing } from '@app/observability';
import {
  createTestApp,
  type McpFixture,
  provisionTestDatabase,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 16, acceptance 5 (and `metrics_public`): with OTEL_EXPORTER_OTLP_ENDPOINT set, spans of a tool call arrive at an OTLP/HTTP
 * receiver (a real one on a loopback port, reading what the OpenTelemetry exporter sends), in the caller's
 * trace, named and attributed after OpenTelemetry's MCP conventions.
 */
const MASTER_KEY = 'sk-master-e2e-otlp';
const TRACE_ID = '5bf92f3577b34da6a3ce929d0e0e4736';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
  status?: { code?: number };
}

describe('OpenTelemetry export (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: McpFixture;
  let receiver: HttpServer;
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        contentTypes.push(String(req.headers['content-type']));
        if (req.url === '/v1/traces') {
          const parsed = JSON.parse(body) as {
            resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
          };
          for (const resource of parsed.resourceSpans)
            for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    upstream = await startMcpFixture();
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: {
        MASTER_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
      },
      configYaml: `
general_settings:
  metrics_public: true
mcp_servers:
  traced:
    url: ${upstream.url}
`,
    });
    await t.app.get(Tracing).whenReady();
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await upstream?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('exports a SERVER and a CLIENT span per tool call, in the caller trace, with MCP attributes', async () => {
    await request(t.url)
      .post('/mcp/tools/call')
      .set({ Authorization: `Bearer ${MASTER_KEY}`, traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` })
      .send({ name: 'traced-echo', arguments: { message: 'hi' } })
      .expect(200);
    const deadline = Date.now() + 10_000;
    while (spans.filter((s) => s.traceId === TRACE_ID).length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const mine = spans.filter((s) => s.traceId === TRACE_ID);
    const attrs = (span: OtlpSpan) =>
      Object.fromEntries(span.attributes.map((a) => [a.key, a.value.stringValue]));
    const server = mine.find((s) => s.kind === 2);
    const client = mine.find((s) => s.kind === 3);
    // The SERVER span carries the name the client called; the CLIENT span the tool's name upstream.
    expect(server).toMatchObject({ name: 'tools/call traced-echo', parentSpanId: '00f067aa0ba902b7' });
    expect(client).toMatchObject({ name: 'tools/call echo', parentSpanId: server?.spanId });
    expect(attrs(client as OtlpSpan)).toMatchObject({ 'gen_ai.tool.name': 'echo' });
    expect(attrs(server as OtlpSpan)).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'traced-echo',
      'mcp.server.name': 'traced',
      'mcp.call.outcome': 'ok',
    });
    // The upstream's parent is the CLIENT span.
    const sent = upstream.requestHeaders.map((h) => h.traceparent).filter(Boolean);
    expect(sent).toContain(`00-${TRACE_ID}-${client?.spanId}-01`);
    expect(contentTypes[0]).toContain('application/json');
  });

  it('serves /metrics without a key when general_settings.metrics_public is on', async () => {
    const res = await request(t.url).get('/metrics').expect(200);
    expect(res.text).toMatch(/^mcp_tool_calls_total\{server="traced",tool="echo",outcome="ok"\} 1$/m);
  });
});
