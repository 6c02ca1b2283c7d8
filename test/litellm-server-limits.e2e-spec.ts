import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import {
  createTestApp,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
  type StatefulUpstream,
  startStatefulUpstream,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 14: LiteLLM's per-server `max_concurrent_requests` (calls wait their turn), `allowed_params` (other
 * arguments are refused, 403), `allow_sampling: false` / `allow_elicitation: false` (the upstream's request is refused, explained).
 */
const MASTER_KEY = 'sk-master-e2e-server-limits';
const master = { Authorization: `Bearer ${MASTER_KEY}` };

/** An upstream whose `ask` tool asks the client to sample (stateful: one session per client). */
function startSampler(): Promise<StatefulUpstream> {
  return startStatefulUpstream(() => {
    const server = new Server({ name: 'sampler', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [
        { name: 'ask', inputSchema: { type: 'object' } },
        { name: 'confirm', inputSchema: { type: 'object' } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      try {
        if (request.params.name === 'confirm') {
          const answer = await extra.sendRequest(
            {
              method: 'elicitation/create',
              params: {
                message: 'Proceed?',
                requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } } },
              },
            },
            ElicitResultSchema,
          );
          return { content: [{ type: 'text', text: `elicited: ${answer.action}` }] };
        }
        const answer = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 },
          },
          CreateMessageResultSchema,
        );
        const text = answer.content.type === 'text' ? answer.content.text : '?';
        return { content: [{ type: 'text', text: `sampled: ${text}` }] };
      } catch (error) {
        return { isError: true, content: [{ type: 'text', text: (error as Error).message }] };
      }
    });
    return server;
  });
}

describe('LiteLLM per-server limits (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let limited: RichFixture;
  let free: RichFixture;
  let sampler: StatefulUpstream;

  beforeAll(async () => {
    [limited, free, sampler] = await Promise.all([
      startRichFixture('limited', 'http'),
      startRichFixture('free', 'http'),
      startSampler(),
    ]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: `
mcp_servers:
  limited:
    url: ${limited.url}
    max_concurrent_requests: 1
    allowed_params: { echo: [message] }
  free:
    url: ${free.url}
  nosample:
    url: ${sampler.url}
    allow_sampling: false
  noelicit:
    url: ${sampler.url}
    allow_elicitation: false
  sampler:
    url: ${sampler.url}
`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([limited?.close(), free?.close(), sampler?.close()]);
  });

  const api = () => request(t.url);
  const sleepTwice = (server: string) =>
    Promise.all(
      [0, 1].map(() =>
        api()
          .post('/mcp/tools/call')
          .set(master)
          .send({ name: `${server}-sleep`, arguments: { ms: 300 } })
          .expect(200),
      ),
    );

  it('max_concurrent_requests: 1 serialises two concurrent calls (a server without it runs them together)', async () => {
    await sleepTwice('free');
    expect(free.stats.peak).toBe(2);
    await sleepTwice('limited');
    expect(limited.stats.sleeping).toBe(2);
    expect(limited.stats.peak).toBe(1);
    const shown = await api().get('/v1/mcp/server/limited').set(master).expect(200);
    expect(shown.body).toMatchObject({ max_concurrent_requests: 1, allowed_params: { echo: ['message'] } });
  });

  it('allowed_params refuses an argument it does not list (403), on REST and over MCP', async () => {
    await api()
      .post('/mcp/tools/call')
      .set(master)
      .send({ name: 'limited-echo', arguments: { message: 'ok' } })
      .expect(200);
    const refused = await api()
      .post('/mcp/tools/call')
      .set(master)
      .send({ name: 'limited-echo', arguments: { message: 'ok', sneaky: 1 } })
      .expect(403);
    expect(refused.body.error).toMatchObject({ code: 'TOOL_ARGUMENTS_NOT_ALLOWED', param: 'arguments' });
    expect(refused.body.error.message).toContain('"sneaky"');
    const client = new Client({ name: 'limits', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: master } }),
    );
    try {
      await expect(
        client.callTool({ name: 'limited-echo', arguments: { message: 'x', sneaky: 1 } }),
      ).rejects.toThrow('allowed_params');
    } finally {
      await client.close();
    }
  });

  it('allow_sampling: false refuses the upstream sampling request with an explained error', async () => {
    const client = new Client(
      { name: 'sampling-client', version: '1.0.0' },
      { capabilities: { sampling: {} } },
    );
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: 'assistant',
      content: { type: 'text', text: 'from the client' },
      model: 'test-model',
    }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: master } }),
    );
    try {
      const allowed = (await client.callTool({ name: 'sampler-ask', arguments: {} })) as CallToolResult;
      expect(allowed.content).toEqual([{ type: 'text', text: 'sampled: from the client' }]);
      const refused = (await client.callTool({ name: 'nosample-ask', arguments: {} })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain(
        'sampling requests from MCP server nosample are not allowed by the gateway (allow_sampling: false on this server)',
      );
    } finally {
      await client.close();
    }
  });

  it('allow_elicitation: false refuses the upstream elicitation request with an explained error', async () => {
    const client = new Client(
      { name: 'eliciting-client', version: '1.0.0' },
      { capabilities: { elicitation: {} } },
    );
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { ok: true } }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: master } }),
    );
    try {
      const allowed = (await client.callTool({ name: 'sampler-confirm', arguments: {} })) as CallToolResult;
      expect(allowed.content).toEqual([{ type: 'text', text: 'elicited: accept' }]);
      const refused = (await client.callTool({ name: 'noelicit-confirm', arguments: {} })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain(
        'elicitation requests from MCP server noelicit are not allowed by the gateway (allow_elicitation: false on this server)',
      );
    } finally {
      await client.close();
    }
  });
});
