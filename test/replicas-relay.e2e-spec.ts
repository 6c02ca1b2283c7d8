import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CreateMessageRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  ResourceUpdatedNotificationSchema,
  SubscribeRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import {
  type Balancer,
  createTestApp,
  modernRequest,
  type RpcReply,
  eventually,
  provisionTestDatabase,
  startBalancer,
  type TestApp,
  type TestDatabase,
  type StatefulUpstream,
  startStatefulUpstream,
} from '@app/testing';
import { McpSessionManager } from '@app/tool-proxy';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { startConformanceFixture } from './helpers/conformance-fixture.js';

/**
 * Issue 18: what a session receives when its requests reach replicas in turn (no sticky sessions). Its GET
 * stream is on one replica; resource updates and list changes raised on the other reach it there; the
 * answers to an upstream's sampling requests, posted to whichever replica, reach the one that asked. Two
 * gateways on one Postgres (a server is needed whichever leg runs), a round-robin balancer in front.
 */
const MASTER_KEY = 'sk-master-e2e-relay';
const WATCHED = 'test://watched';

/** A stateful upstream whose `poke` tool raises a resource update and a tool-list change in its session. */
function startNotifyingUpstream(): Promise<StatefulUpstream> {
  return startStatefulUpstream(() => {
    const server = new Server(
      { name: 'notifying', version: '1.0.0' },
      { capabilities: { tools: { listChanged: true }, resources: { subscribe: true } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [{ name: 'poke', inputSchema: { type: 'object' } }],
    }));
    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: [{ uri: WATCHED, name: 'watched' }],
    }));
    server.setRequestHandler(ReadResourceRequestSchema, () => ({
      contents: [{ uri: WATCHED, text: 'now' }],
    }));
    server.setRequestHandler(SubscribeRequestSchema, () => ({}));
    server.setRequestHandler(CallToolRequestSchema, async (_request, extra): Promise<CallToolResult> => {
      await extra.sendNotification({
        method: 'notifications/resources/updated',
        params: { uri: WATCHED },
      });
      await extra.sendNotification({ method: 'notifications/tools/list_changed' });
      return { content: [{ type: 'text', text: 'poked' }] };
    });
    return server;
  });
}

describe('one session through two replicas in turn: notifications and server requests (e2e)', () => {
  let db: TestDatabase;
  let notifying: StatefulUpstream;
  let conformance: { url: string; process: ChildProcess };
  const apps: TestApp[] = [];
  let balancer: Balancer;

  beforeAll(async () => {
    [notifying, conformance] = await Promise.all([startNotifyingUpstream(), startConformanceFixture()]);
    db = await provisionTestDatabase({ postgres: true });
    const start = () =>
      createTestApp({
        rootModule: GatewayModule.forRoot,
        database: db.database,
        env: { MASTER_KEY },
        configYaml: `
mcp_servers:
  notifying:
    url: ${notifying.url}
  conf:
    url: ${conformance.url}
`,
      });
    apps.push(await start());
    apps.push(await start());
    balancer = await startBalancer(apps.map((a) => a.url));
  });

  afterAll(async () => {
    await balancer?.close();
    for (const app of apps) await app.close();
    await db?.drop();
    await notifying?.close();
    conformance?.process.kill();
  });

  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${balancer.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${MASTER_KEY}` } },
    });
    const client = new Client({ name: 'relay-e2e', version: '1.0.0' }, { capabilities: { sampling: {} } });
    await client.connect(transport);
    return { client, transport };
  };

  it('delivers resource updates and list changes raised on either replica to the GET stream on the other', async () => {
    const { client, transport } = await connect();
    let updated = 0;
    let listChanged = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updated++);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++);
    const id = transport.sessionId as string;
    // The client opens its GET stream after initialize: wait until one replica holds it.
    const holders = () =>
      apps.filter((a) => {
        const t = a.app.get(McpSessionManager).get(id)?.transport as { hasStream?: boolean } | undefined;
        return t?.hasStream === true;
      });
    await eventually(
      'the GET stream open on one replica',
      () => Promise.resolve(holders().length === 1),
      5000,
    );

    await client.subscribeResource({ uri: WATCHED });
    const pokes = 4;
    for (let i = 0; i < pokes; i++)
      expect(await client.callTool({ name: 'notifying-poke', arguments: {} })).toMatchObject({
        content: [{ text: 'poked' }],
      });
    // Each poke's update once: half raised on the replica with the stream, half relayed from the other.
    await eventually('every resource update delivered', () => Promise.resolve(updated >= pokes), 5000);
    expect(updated).toBe(pokes);
    expect(listChanged).toBeGreaterThanOrEqual(1);
    for (const app of apps)
      expect(app.app.get(McpSessionManager).get(id)?.subscriptions.has(WATCHED)).toBe(true);
    await client.close();
  });

  it("routes the client's answers to an upstream's sampling requests to the replica that asked", async () => {
    const { client } = await connect();
    const asked: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const content = request.params.messages[0].content;
      const prompt = 'text' in content ? String(content.text) : '';
      asked.push(prompt);
      return { role: 'assistant', model: 'test', content: { type: 'text', text: `answer to ${prompt}` } };
    });
    for (let i = 0; i < 4; i++) {
      const result = (await client.callTool({
        name: 'conf-test_sampling',
        arguments: { prompt: `question ${i}` },
      })) as CallToolResult;
      expect(result.content).toEqual([{ type: 'text', text: `LLM response: answer to question ${i}` }]);
    }
    expect(asked).toEqual(['question 0', 'question 1', 'question 2', 'question 3']);
    await client.close();
  });

  it('continues an input_required round on the replica that runs the call, whichever replica the retry reaches', async () => {
    const [first, second] = apps.map((a) => `${a.url}/conf/mcp`);
    const call = (url: string, params: Record<string, unknown> = {}) =>
      modernRequest(url, MASTER_KEY, 'tools/call', {
        name: 'test_input_required_result_multi_round',
        arguments: {},
        ...params,
      });
    const answer = (reply: RpcReply, content: Record<string, unknown>) => ({
      inputResponses: { [Object.keys(reply.result!.inputRequests!)[0]]: { action: 'accept', content } },
      requestState: reply.result!.requestState,
    });
    // Started on the first replica; step 1 answered through the second, step 2 through the second again.
    const one = await call(first);
    expect(Object.values(one.body.result!.inputRequests!)[0].params.message).toContain('Step 1');
    const two = await call(second, answer(one.body, { name: 'Ada' }));
    expect(Object.values(two.body.result!.inputRequests!)[0].params.message).toContain('Step 2');
    const done = await call(second, answer(two.body, { color: 'blue' }));
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'Ada likes blue' }]);
    // A spent state stays spent, on any replica.
    const again = await call(first, answer(two.body, { color: 'red' }));
    expect(again.body.error?.code).toBe(-32602);
    const elsewhere = await call(second, answer(one.body, { name: 'Eve' }));
    expect(elsewhere.body.error?.code).toBe(-32602);
  });

  it('lets an SDK v2 client answer input_required through a balancer that alternates replicas', async () => {
    const client = new ModernClient(
      { name: 'relay-2026', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const steps: string[] = [];
    client.setRequestHandler('elicitation/create', (request) => {
      const message = request.params.message;
      steps.push(message);
      const content: Record<string, string> = message.includes('Step 1')
        ? { name: 'Lin' }
        : { color: 'green' };
      return { action: 'accept', content };
    });
    await client.connect(
      new ModernTransport(new URL(`${balancer.url}/conf/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${MASTER_KEY}` } },
      }),
    );
    for (let i = 0; i < 3; i++) {
      const result = await client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'Lin likes green' }]);
    }
    expect(steps).toHaveLength(6);
    await client.close();
  });
});
