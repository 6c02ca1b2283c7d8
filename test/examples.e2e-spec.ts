import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import {
  createTestApp,
  provisionTestDatabase,
  type RichFixture,
  startRichFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

const run = promisify(execFile);
const MASTER_KEY = 'sk-master-e2e-examples';

interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string } }[];
}

/**
 * A small local server speaking the Chat Completions API (the one thing that cannot run here is a hosted
 * model): first a scripted tool call of `web-echo`, then, once it gets the tool's result, a final answer.
 */
async function startFakeModel() {
  const requests: ChatRequest[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions'))
        return void res.writeHead(404).end();
      const chat = JSON.parse(body) as ChatRequest;
      requests.push(chat);
      const toolResult = chat.messages.find((m) => m.role === 'tool');
      const message = toolResult
        ? { role: 'assistant', content: `The tool said: ${toolResult.content}` }
        : {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: {
                  name: 'web-echo',
                  arguments: JSON.stringify({ message: 'hello from the model' }),
                },
              },
            ],
          };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: chat.model,
          choices: [{ index: 0, message, finish_reason: toolResult ? 'stop' : 'tool_calls', logprobs: null }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('examples (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let upstream: RichFixture;
  let model: Awaited<ReturnType<typeof startFakeModel>>;
  let key: string;

  const example = async (name: string, args: string[] = [], env: Record<string, string> = {}) => {
    const { stdout } = await run(process.execPath, [path.resolve(`dist/examples/${name}.js`), ...args], {
      env: { PATH: process.env.PATH, GATEWAY_URL: t.url, GATEWAY_KEY: key, ...env },
      timeout: 30_000,
    });
    return stdout;
  };

  beforeAll(async () => {
    [upstream, model] = await Promise.all([startRichFixture('web', 'http'), startFakeModel()]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      // The fake model is also a model of the gateway's own OpenAI-compatible endpoint.
      configYaml: `model_list:\n  - model_name: fake\n    litellm_params:\n      model: openai/fake-model\n      api_base: ${model.url}\nmcp_servers:\n  web:\n    url: ${upstream.url}\n`,
    });
    const res = await request(t.url)
      .post('/key/generate')
      .set('Authorization', `Bearer ${MASTER_KEY}`)
      .send({ object_permission: { mcp_servers: ['web'] } })
      .expect(200);
    key = res.body.key;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([upstream?.close(), model?.close()]);
  });

  it('list-tools: an SSE client at /mcp/ prints the tools', async () => {
    const out = await example('list-tools');
    expect(out).toContain('4 tools:');
    expect(out).toContain('- web-echo: echo from web');
  });

  it('openai-tools: the same tools in the OpenAI format', async () => {
    const tools = JSON.parse(await example('openai-tools')) as { type: string; function: { name: string } }[];
    expect(tools.map((tool) => tool.function.name)).toContain('web-echo');
    expect(tools[0]).toMatchObject({
      type: 'function',
      function: { strict: false, parameters: { type: 'object' } },
    });
  });

  it('chat-with-mcp-tools: the model gets the tools, its tool call runs upstream, the result reaches it', async () => {
    const out = await example('chat-with-mcp-tools', [], {
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'sk-fake-model-key',
      OPENAI_MODEL: 'fake-model',
    });
    expect(model.requests).toHaveLength(2);
    expect(model.requests[0].tools?.map((tool) => tool.function.name)).toContain('web-echo');
    const toolMessage = model.requests[1].messages.find((m) => m.role === 'tool');
    expect(toolMessage).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: 'web:hello from the model',
    });
    expect(out.trim()).toBe('The tool said: web:hello from the model');
  });

  it("chat-with-mcp-tools against the gateway's own /v1/chat/completions (the product page's setup)", async () => {
    const before = model.requests.length;
    const out = await example('chat-with-mcp-tools', [], {
      OPENAI_BASE_URL: `${t.url}/v1`,
      OPENAI_API_KEY: key,
      OPENAI_MODEL: 'fake',
    });
    const sent = model.requests.slice(before);
    expect(sent.map((r) => r.model)).toEqual(['fake-model', 'fake-model']);
    expect(sent[1].messages.find((m) => m.role === 'tool')?.content).toBe('web:hello from the model');
    expect(out.trim()).toBe('The tool said: web:hello from the model');
  });

  it('rest-tools: list and call with plain fetch', async () => {
    const out = await example('rest-tools', ['web-echo', '{"message":"via rest"}']);
    expect(out).toContain('4 tools: web-');
    expect(out).toContain('web-echo -> 200');
    expect(out).toContain('web:via rest');
  });

  it('every example says in one line which variable is missing (exit 2, no stack trace)', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['list-tools', {}, 'GATEWAY_KEY is not set'],
      ['openai-tools', {}, 'GATEWAY_KEY is not set'],
      ['rest-tools', {}, 'GATEWAY_KEY is not set'],
      ['chat-with-mcp-tools', {}, 'GATEWAY_KEY is not set'],
      ['chat-with-mcp-tools', { GATEWAY_KEY: 'sk-any-key-0000' }, 'OPENAI_API_KEY is not set'],
    ];
    for (const [name, env, line] of cases) {
      const failed = await run(process.execPath, [path.resolve(`dist/examples/${name}.js`)], {
        env: { PATH: process.env.PATH, ...env },
      }).catch((error: { code: number; stderr: string }) => error);
      expect([name, (failed as { code: number }).code]).toEqual([name, 2]);
      const stderr = (failed as { stderr: string }).stderr.trim();
      expect([name, stderr.split('\n').length, stderr.startsWith(line)]).toEqual([name, 1, true]);
    }
  });
});
