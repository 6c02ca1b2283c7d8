import OpenAI from 'openai';
import request from 'supertest';
import { AuditLog } from '@app/observability';
import {
  createTestApp,
  freshClockMinute,
  type FakeModel,
  type McpFixture,
  provisionTestDatabase,
  startFakeModel,
  startMcpFixture,
  type TestApp,
  type TestDatabase,
} from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

/**
 * Issue 17: the gateway as an OpenAI-compatible endpoint, driven by the official `openai` client, in front of
 * a fake model server that speaks the Chat Completions and Responses APIs over a real socket; MCP tools in a
 * request, run by the gateway under the caller's grants when `require_approval` is "never".
 */
const MASTER_KEY = 'sk-master-e2e-llm';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const MODEL_KEY = 'sk-upstream-model-key-1234';
const tools = [
  { name: 'echo', inputSchema: { type: 'object' as const, properties: { message: { type: 'string' } } } },
];

describe('OpenAI-compatible endpoints with MCP tools (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let model: FakeModel;
  let srvA: McpFixture;
  let srvB: McpFixture;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    model = await startFakeModel({ chunkDelayMs: 80 });
    const upstream = (who: string) =>
      startMcpFixture({
        tools,
        call: (_name, args) => ({
          content: [{ type: 'text', text: `${who} echoes ${String(args.message)}` }],
        }),
      });
    [srvA, srvB] = await Promise.all([upstream('server A'), upstream('server B')]);
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY, FAKE_MODEL_KEY: MODEL_KEY },
      configYaml: `
model_list:
  - model_name: fake
    litellm_params:
      model: openai/fake-1
      api_base: ${model.baseUrl}
      api_key: os.environ/FAKE_MODEL_KEY
      max_retries: 2
    model_info:
      input_cost_per_token: 0.001
      output_cost_per_token: 0.002
  - model_name: other
    litellm_params:
      model: hosted_vllm/other-1
      api_base: ${model.baseUrl}
  - model_name: balanced
    litellm_params: { model: openai/first-1, api_base: "${model.baseUrl}", max_retries: 0 }
  - model_name: balanced
    litellm_params: { model: openai/second-1, api_base: "${model.baseUrl}", max_retries: 0 }
mcp_servers:
  srv_a:
    url: ${srvA.url}
    access_groups: [team_a]
  srv_b:
    url: ${srvB.url}
    access_groups: [team_b]
`,
    });
    const admin = (path: string, body: object) =>
      request(t.url).post(path).set(master).send(body).expect(200);
    await admin('/team/new', { team_id: 'team_a', object_permission: { mcp_access_groups: ['team_a'] } });
    await admin('/team/new', { team_id: 'team_b', object_permission: { mcp_access_groups: ['team_b'] } });
    keys.a = (await admin('/key/generate', { key_alias: 'user_a', team_id: 'team_a' })).body.key as string;
    keys.b = (await admin('/key/generate', { key_alias: 'user_b', team_id: 'team_b' })).body.key as string;
    keys.broke = (await admin('/key/generate', { key_alias: 'broke', team_id: 'team_a', max_budget: 0 })).body
      .key as string;
    keys.oncePerMinute = (
      await admin('/key/generate', { key_alias: 'once', team_id: 'team_a', rpm_limit: 1 })
    ).body.key as string;
    keys.limited = (
      await admin('/key/generate', { key_alias: 'limited', team_id: 'team_a', models: ['fake'] })
    ).body.key as string;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await Promise.all([model?.close(), srvA?.close(), srvB?.close()]);
  });

  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
  const mcpTool = (approval: 'never' | 'always', server = 'litellm_proxy') =>
    ({ type: 'mcp', server_url: server, require_approval: approval }) as never;

  it('lists the models a key may use', async () => {
    expect((await client(keys.a).models.list()).data.map((m) => m.id)).toEqual(['fake', 'other', 'balanced']);
    expect((await client(keys.limited).models.list()).data.map((m) => m.id)).toEqual(['fake']);
  });

  it('answers a plain completion from the upstream model, with the gateway key upstream', async () => {
    const completion = await client(keys.a).chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(completion.choices[0].message.content).toBe('hello from fake-1: hi there');
    const sent = model.requests[model.requests.length - 1];
    expect(sent).toMatchObject({ path: '/v1/chat/completions', authorization: `Bearer ${MODEL_KEY}` });
    expect(sent.body.model).toBe('fake-1');
  });

  it('relays a streamed completion chunk by chunk, as it arrives', async () => {
    const stream = await client(keys.a).chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'one two three four' }],
      stream: true,
    });
    const arrivals: { at: number; text: string }[] = [];
    for await (const chunk of stream)
      arrivals.push({ at: Date.now(), text: chunk.choices[0]?.delta?.content ?? '' });
    expect(arrivals.map((a) => a.text).join('')).toBe('hello from fake-1: one two three four');
    const withText = arrivals.filter((a) => a.text);
    // Eight words 80 ms apart upstream: the first reached the client well before the last was sent.
    expect(withText[withText.length - 1].at - withText[0].at).toBeGreaterThan(300);
  });

  it('answers a responses call', async () => {
    const response = await client(keys.a).responses.create({ model: 'fake', input: 'hello responses' });
    expect(response.output_text).toBe('hello from fake-1: hello responses');
    const stream = await request(t.url)
      .post('/v1/responses')
      .set({ Authorization: `Bearer ${keys.a}` })
      .send({ model: 'fake', input: 'x', stream: true })
      .expect(400);
    expect(stream.body.error).toMatchObject({ param: 'stream' });
  });

  it('runs MCP tools for the model with require_approval "never", under the caller key', async () => {
    const before = model.requests.length;
    const completion = (await client(keys.a).chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'please use echo' }],
      tools: [mcpTool('never')],
    })) as OpenAI.ChatCompletion & { mcp_tool_calls?: { name: string; outcome: string }[] };
    expect(completion.choices[0].message.content).toBe('final: server A echoes from model');
    expect(completion.mcp_tool_calls).toEqual([
      expect.objectContaining({ name: 'srv_a-echo', outcome: 'ok', arguments: '{"message":"from model"}' }),
    ]);
    // The model saw team A's tool only, then the tool's result.
    const [first, second] = model.requests.slice(before);
    expect((first.body.tools as { function: { name: string } }[]).map((x) => x.function.name)).toEqual([
      'srv_a-echo',
    ]);
    expect(JSON.stringify(second.body.messages)).toContain('server A echoes from model');
    await t.app.get(AuditLog).flush();
    const logs = await request(t.url).get('/v1/mcp/logs?key_alias=user_a').set(master).expect(200);
    expect(logs.body.data[0]).toMatchObject({ via: 'chat', tool: 'echo', server: 'srv_a', outcome: 'ok' });
  });

  it('streams the final answer after the tool rounds, reporting them as comments', async () => {
    const res = await request(t.url)
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${keys.b}` })
      .send({
        model: 'fake',
        stream: true,
        messages: [{ role: 'user', content: 'use echo' }],
        tools: [mcpTool('never')],
      })
      .expect(200);
    expect(res.text).toMatch(/^: mcp_tool_call \{"id":"call_1","name":"srv_b-echo",.*"outcome":"ok"/m);
    const text = res.text
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map(
        (line) => (JSON.parse(line.slice(6)) as OpenAI.ChatCompletionChunk).choices[0]?.delta?.content ?? '',
      )
      .join('');
    expect(text).toBe('final: server B echoes from model');
    expect(res.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('returns the model tool calls to the client with require_approval "always" (the default)', async () => {
    const completion = await client(keys.a).chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'use echo' }],
      tools: [mcpTool('always')],
    });
    const call = completion.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('srv_a-echo');
  });

  it('keeps a key of team B from running team A tools', async () => {
    const res = await request(t.url)
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${keys.b}` })
      .send({
        model: 'fake',
        messages: [{ role: 'user', content: 'use echo' }],
        tools: [mcpTool('never', 'litellm_proxy/mcp/srv_a')],
      })
      .expect(400);
    expect(res.body.error).toMatchObject({ code: 'MCP_TOOLS_UNAVAILABLE', param: 'tools[0]' });
    expect(res.body.error.message).toContain('srv_a');
    expect(srvA.requestHeaders.some((h) => h.authorization === `Bearer ${keys.b}`)).toBe(false);
  });

  it('retries a failing upstream model, refuses a model the key may not use, relays an upstream 400', async () => {
    const before = model.requests.length;
    model.failNext(500, 1);
    const completion = await client(keys.a).chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'after a failure' }],
    });
    expect(completion.choices[0].message.content).toBe('hello from fake-1: after a failure');
    expect(model.requests.length - before).toBe(2);
    await expect(
      client(keys.limited).chat.completions.create({
        model: 'other',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 403 });
    const bad = await request(t.url)
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${keys.a}` })
      .send({ model: 'fake', messages: [{ role: 'user', content: 'a bad request please' }] })
      .expect(400);
    expect(bad.body.error).toMatchObject({
      message: 'the fake model refuses this input',
      type: 'invalid_request_error',
      param: 'messages',
      code: 'bad_input',
    });
    const unknown = await request(t.url)
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${keys.a}` })
      .send({ model: 'nope', messages: [] })
      .expect(404);
    expect(unknown.body.error.message).toContain('models: fake, other, balanced');
  });

  it('records model usage and charges its cost to the key', async () => {
    const info = await request(t.url).get('/key/info?key=user_a').set(master).expect(200);
    expect(info.body.info.spend).toBeGreaterThanOrEqual(0);
    const text = (await request(t.url).get('/metrics').set(master).expect(200)).text;
    expect(text).toMatch(/^llm_requests_total\{model="fake",outcome="ok"\} \d+$/m);
    expect(text).toMatch(/^llm_tokens_total\{model="fake",kind="prompt"\} \d+$/m);
    expect(t.logs.text()).not.toContain(MODEL_KEY);
    const rows = await request(t.url)
      .get('/v1/model/logs?key_alias=user_a&model=fake')
      .set(master)
      .expect(200);
    expect(rows.body.data.find((r: { outcome: string }) => r.outcome === 'ok')).toMatchObject({
      endpoint: 'chat.completions',
      model: 'fake',
      upstream_model: 'fake-1',
      prompt_tokens: 10,
      completion_tokens: 5,
      cost: 0.02,
    });
    expect(rows.body.data.some((r: { outcome: string; status: number }) => r.status === 400)).toBe(true);
  });

  it('balances the deployments of one model name, and skips one that failed', async () => {
    const ask = () =>
      client(keys.a).chat.completions.create({
        model: 'balanced',
        messages: [{ role: 'user', content: 'x' }],
      });
    const before = model.requests.length;
    await ask();
    await ask();
    expect(model.requests.slice(before).map((r) => r.body.model)).toEqual(['first-1', 'second-1']);
    // The next one (first-1) fails: relayed as it is (no retries configured), and first-1 is left alone a while.
    model.failNext(503, 1);
    await expect(ask()).rejects.toMatchObject({ status: 503 });
    const after = model.requests.length;
    for (let i = 0; i < 3; i++) await ask();
    expect(model.requests.slice(after).map((r) => r.body.model)).toEqual([
      'second-1',
      'second-1',
      'second-1',
    ]);
  });

  it('aborts the upstream request when the client goes away mid-stream', async () => {
    const controller = new AbortController();
    const stream = await client(keys.a).chat.completions.create(
      { model: 'fake', messages: [{ role: 'user', content: 'a b c d e f g h i j k l' }], stream: true },
      { signal: controller.signal },
    );
    const abortedBefore = model.aborted;
    // The SDK ends (or throws from) the iteration once aborted: either way the client is gone.
    try {
      for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) controller.abort();
    } catch {
      // aborted
    }
    const deadline = Date.now() + 5000;
    while (model.aborted === abortedBefore && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(model.aborted).toBe(abortedBefore + 1);
  });

  it("counts model requests against the key's rpm_limit", async () => {
    await freshClockMinute();
    const ask = () =>
      request(t.url)
        .post('/v1/chat/completions')
        .set({ Authorization: `Bearer ${keys.oncePerMinute}` })
        .send({ model: 'fake', messages: [{ role: 'user', content: 'x' }] });
    expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'mcp_per_key' } });
  });

  it('refuses a model request when the key budget is spent, before the model is asked', async () => {
    const before = model.requests.length;
    const res = await request(t.url)
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${keys.broke}` })
      .send({ model: 'fake', messages: [{ role: 'user', content: 'x' }] })
      .expect(403);
    expect(res.body.error).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(res.body.error.message).toBe('budget exceeded: API key broke has spent 0 of its max_budget 0');
    expect(model.requests.length).toBe(before);
  });
});
