import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createClient } from 'redis';
import {
  type Balancer,
  eventually,
  modernRequest,
  type RpcReply,
  freshClockMinute,
  provisionTestDatabase,
  type RichFixture,
  startBalancer,
  startRichFixture,
  type TestDatabase,
} from '@app/testing';
import {
  type GatewayProcess,
  startGatewayProcess,
  stopAllGatewayProcesses,
} from './helpers/gateway-process.js';
import { startConformanceFixture } from './helpers/conformance-fixture.js';

/**
 * Issue 18, acceptance 1 and 3: three real gateway processes on one Postgres and the local Redis, behind a
 * round-robin balancer that sends every request to the next replica (no stickiness at all). Replicas need a
 * Postgres server (the embedded database is one process by construction): this suite uses one on both legs.
 */
const MASTER_KEY = 'sk-master-e2e-replicas3';
const master = { Authorization: `Bearer ${MASTER_KEY}` };
const REDIS_URL = 'redis://127.0.0.1:6379/7';
const CALLS = 300;

interface Replica {
  gw: GatewayProcess;
  url: string;
}

describe('three replicas behind a round-robin balancer (e2e, built gateway processes)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-replicas-'));
  let db: TestDatabase;
  let web: RichFixture;
  let conformance: { url: string; process: ChildProcess };
  let balancer: Balancer;
  const replicas: Replica[] = [];

  /** Rounds a replica continued for another (mcp_input_rounds_relayed_total on its /metrics). */
  const relayedRounds = async (url: string): Promise<number> => {
    const text = await (
      await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${MASTER_KEY}` } })
    ).text();
    return Number(/^mcp_input_rounds_relayed_total (\d+)/m.exec(text)?.[1] ?? 0);
  };

  const startReplica = async (): Promise<Replica> => {
    const gw = startGatewayProcess(
      ['--config', path.join(dir, 'config.yaml')],
      {
        PORT: '0',
        HOST: '127.0.0.1',
        MASTER_KEY,
        DATABASE_URL: db.database.url as string,
        REDIS_URL,
      },
      dir,
    );
    const listening = await gw.waitForLine(/MCP gateway listening/);
    return { gw, url: `http://127.0.0.1:${(JSON.parse(listening) as { port: number }).port}` };
  };

  beforeAll(async () => {
    db = await provisionTestDatabase({ postgres: true });
    web = await startRichFixture('web', 'http');
    conformance = await startConformanceFixture();
    writeFileSync(
      path.join(dir, 'config.yaml'),
      `mcp_servers:\n  web:\n    url: ${web.url}\n  limited:\n    url: ${web.url}\n    rpm: 10\n  conf:\n    url: ${conformance.url}\n`,
    );
    // The first one migrates the database; then the others.
    replicas.push(await startReplica());
    replicas.push(...(await Promise.all([startReplica(), startReplica()])));
    balancer = await startBalancer(replicas.map((r) => r.url));
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    await redis.flushDb();
    await redis.close();
  }, 60_000);

  afterAll(async () => {
    stopAllGatewayProcesses();
    await balancer?.close();
    await web?.close();
    conformance?.process.kill();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (transport: Transport) => {
    const client = new Client({ name: 'replicas-e2e', version: '1.0.0' });
    await client.connect(transport);
    return client;
  };
  const streamable = (key = MASTER_KEY) =>
    new StreamableHTTPClientTransport(new URL(`${balancer.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    });
  /** Calls echo `count` times, `parallel` at once; each answer must carry its own call's message. */
  const echoes = async (
    client: Client,
    label: string,
    count: number,
    parallel: number,
    progress = { done: 0 },
  ) => {
    let errors = 0;
    let misrouted = 0;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const message = `${label}-${next++}`;
        try {
          const result = await client.callTool({ name: 'web-echo', arguments: { message } });
          const text = (result.content as { text: string }[])[0].text;
          if (text !== `web:${message}`) misrouted++;
        } catch {
          errors++;
        }
        progress.done++;
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return { errors, misrouted };
  };

  it(`completes ${CALLS} tool calls over Streamable HTTP and ${CALLS} over legacy SSE with no error and no misrouted reply`, async () => {
    const client = await connect(streamable());
    expect(await echoes(client, 'http', CALLS, 4)).toEqual({ errors: 0, misrouted: 0 });
    // Every replica served a share of it.
    for (const replica of replicas) expect(balancer.served.get(replica.url) ?? 0).toBeGreaterThan(50);
    await client.close();

    const sse = await connect(
      new SSEClientTransport(new URL(`${balancer.url}/mcp/sse`), {
        requestInit: { headers: master },
        eventSourceInit: {
          fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...master } }),
        },
      }),
    );
    expect(await echoes(sse, 'sse', CALLS, 4)).toEqual({ errors: 0, misrouted: 0 });
    await sse.close();
  }, 120_000);

  it('lists a server added on replica 1 through replicas 2 and 3 within 1 s; a key blocked on 2 is refused on 1 and 3', async () => {
    const [one, two, three] = replicas;
    const added = await fetch(`${one.url}/v1/mcp/server`, {
      method: 'POST',
      headers: { ...master, 'Content-Type': 'application/json' },
      body: JSON.stringify({ server_name: 'added_on_one', url: web.url }),
    });
    expect(added.status).toBe(201);
    const listed = async (replica: Replica) => {
      // The tools the replica lists (its registry and catalog), as a client sees them.
      const res = await fetch(`${replica.url}/mcp/tools/list`, { headers: master });
      return (await res.text()).includes('"added_on_one-echo"');
    };
    await eventually('listed through replica 2', () => listed(two), 1000);
    await eventually('listed through replica 3', () => listed(three), 1000);

    const generated = await fetch(`${two.url}/key/generate`, {
      method: 'POST',
      headers: { ...master, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_alias: 'to-block' }),
    });
    const key = ((await generated.json()) as { key: string }).key;
    for (const replica of replicas)
      expect(
        (await fetch(`${replica.url}/key/info`, { headers: { Authorization: `Bearer ${key}` } })).status,
      ).toBe(200);
    const blocked = await fetch(`${two.url}/key/block`, {
      method: 'POST',
      headers: { ...master, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'to-block' }),
    });
    expect(blocked.status).toBe(200);
    for (const replica of [one, three])
      await eventually(
        `the key refused on ${replica.url}`,
        async () =>
          (await fetch(`${replica.url}/key/info`, { headers: { Authorization: `Bearer ${key}` } })).status ===
          403,
        1000,
      );
  });

  it('counts rpm: 10 on a server over all three replicas: of 30 calls exactly 10 pass, the rest get 429 or -32029', async () => {
    await freshClockMinute();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${balancer.url}/mcp/tools/call`, {
        method: 'POST',
        headers: { ...master, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'limited-echo', arguments: { message: `rest ${i}` } }),
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    const client = await connect(streamable());
    const rpcCodes: (number | 'ok')[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        await client.callTool({ name: 'limited-echo', arguments: { message: `mcp ${i}` } });
        rpcCodes.push('ok');
      } catch (error) {
        rpcCodes.push((error as { code: number }).code);
      }
    }
    await client.close();
    const passed = statuses.filter((s) => s === 200).length + rpcCodes.filter((c) => c === 'ok').length;
    expect(passed).toBe(10);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(rpcCodes.filter((c) => c !== 'ok').every((c) => c === -32029)).toBe(true);
  });

  it('counts a key rpm_limit and a team rpm_limit over all three replicas', async () => {
    await freshClockMinute();
    const admin = async (route: string, body: unknown) =>
      (await (
        await fetch(`${replicas[0].url}${route}`, {
          method: 'POST',
          headers: { ...master, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { key: string };
    const web = { object_permission: { mcp_servers: ['web'] } };
    await admin('/team/new', { team_id: 'three-replicas', rpm_limit: 4, ...web });
    const keyed = (await admin('/key/generate', { key_alias: 'keyed', rpm_limit: 5, ...web })).key;
    const teamed = (await admin('/key/generate', { key_alias: 'teamed', team_id: 'three-replicas' })).key;
    const passes = async (key: string, calls: number) => {
      let ok = 0;
      for (let i = 0; i < calls; i++) {
        const res = await fetch(`${balancer.url}/mcp/tools/call`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'web-echo', arguments: { message: `${i}` } }),
        });
        if (res.status === 200) ok++;
        else expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      }
      return ok;
    };
    expect(await passes(keyed, 15)).toBe(5);
    expect(await passes(teamed, 12)).toBe(4);
  });

  it('hands a legacy SSE message to the replica holding the stream, and refuses one too large to hand over', async () => {
    const [holder, other] = replicas;
    const stream = await fetch(`${holder.url}/mcp/sse`, {
      headers: { ...master, Accept: 'text/event-stream' },
    });
    const reader = stream.body!.getReader();
    let text = '';
    while (!/sessionId=([\w-]+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const sessionId = /sessionId=([\w-]+)/.exec(text)![1];
    const postTo = (replica: Replica, body: unknown) =>
      fetch(`${replica.url}/mcp/sse/messages?sessionId=${sessionId}`, {
        method: 'POST',
        headers: { ...master, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw-sse', version: '1' },
      },
    };
    // Posted to another replica: handed over (202), and the answer comes on the holder's stream.
    expect((await postTo(other, initialize)).status).toBe(202);
    while (!text.includes('"id":1')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"protocolVersion"');
    // Over NOTIFY's payload limit: refused, saying what to do instead.
    const big = await postTo(other, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'web-echo', arguments: { message: 'x'.repeat(10_000) } },
    });
    expect(big.status).toBe(503);
    const refusal = (await big.json()) as { error: { message: string }; id: number };
    expect(refusal.id).toBe(2);
    expect(refusal.error.message).toContain('sticky sessions');
    await reader.cancel();
  });

  it('costs only the calls in flight on a replica killed mid-run (SIGKILL); the session goes on elsewhere', async () => {
    const transport = streamable();
    const client = await connect(transport);
    const id = transport.sessionId;
    const parallel = 4;
    const progress = { done: 0 };
    const run = echoes(client, 'kill', 300, parallel, progress);
    await eventually('a third of the calls done', () => Promise.resolve(progress.done >= 100), 10_000);
    replicas[1].gw.child.kill('SIGKILL');
    await replicas[1].gw.exited;
    const atKill = progress.done;
    const { errors, misrouted } = await run;
    expect(atKill).toBeLessThan(250); // killed mid-run, not after it
    // At most the calls that were in flight on it (one per worker), and never a wrong answer.
    expect(misrouted).toBe(0);
    expect(errors).toBeLessThanOrEqual(parallel);
    expect(transport.sessionId).toBe(id);
    expect(await echoes(client, 'after-kill', 20, 1)).toEqual({ errors: 0, misrouted: 0 });
    await client.close();
  }, 60_000);

  it('answers a retry whose call waited on a killed replica within seconds: -32602, call again', async () => {
    const alive = replicas.filter((r) => r.gw.child.exitCode === null && r.gw.child.signalCode === null);
    const [holder, other] = alive;
    const call = (url: string, params: Record<string, unknown> = {}) =>
      modernRequest(`${url}/conf/mcp`, MASTER_KEY, 'tools/call', {
        name: 'test_input_required_result_elicitation',
        arguments: {},
        ...params,
      });
    const first = await call(holder.url);
    expect(first.body.result?.resultType).toBe('input_required');
    holder.gw.child.kill('SIGKILL');
    await holder.gw.exited;
    const started = Date.now();
    const retry = await call(other.url, {
      inputResponses: {
        [Object.keys(first.body.result!.inputRequests!)[0]]: { action: 'accept', content: { name: 'Ada' } },
      },
      requestState: first.body.result!.requestState,
    });
    expect(retry.body.error?.code).toBe(-32602);
    expect(retry.body.error?.message).toContain('did not answer');
    expect(Date.now() - started).toBeLessThan(8000);
    // Called again without the state, on a live replica, it starts over.
    expect((await call(other.url)).body.result?.resultType).toBe('input_required');
  }, 30_000);

  it('answers a retry whose round the holder took and then died running within seconds (it stopped saying it is alive)', async () => {
    const [holder] = replicas.filter((r) => r.gw.child.exitCode === null && r.gw.child.signalCode === null);
    const asker = await startReplica();
    replicas.push(asker);
    // The upstream asks a name, then works on (for `ms`, or a minute) once it has it.
    const call = (url: string, params: Record<string, unknown> = {}, ms?: number) =>
      modernRequest(`${url}/conf/mcp`, MASTER_KEY, 'tools/call', {
        name: 'test_slow_after_input',
        arguments: ms === undefined ? {} : { ms },
        ...params,
      });
    const answer = (asked: RpcReply) => ({
      inputResponses: {
        [Object.keys(asked.result!.inputRequests!)[0]]: { action: 'accept', content: { name: 'Ada' } },
      },
      requestState: asked.result!.requestState,
    });
    // A healthy holder running a round longer than the 10 s of silence allowed: it says it is alive, and the
    // retry gets the result.
    const long = await call(holder.url, {}, 13_000);
    const done = await call(asker.url, answer(long.body));
    expect(done.body.result?.content?.[0].text).toBe('Hello at last, Ada!');
    const relayedBefore = await relayedRounds(holder.url);
    const first = await call(holder.url);
    expect(first.body.result?.resultType).toBe('input_required');
    const started = Date.now();
    const retry = call(asker.url, answer(first.body));
    // The holder took the round (its relayed-rounds counter says so) and runs it; then it is killed.
    await eventually(
      'the holder took the round',
      async () => (await relayedRounds(holder.url)) > relayedBefore,
      10_000,
    );
    holder.gw.child.kill('SIGKILL');
    await holder.gw.exited;
    const reply = await retry;
    expect(reply.body.error?.code).toBe(-32602);
    expect(reply.body.error?.message).toContain('did not answer');
    // Within the keep-alive window (10 s of silence), not the round's 10 minutes.
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 90_000);
});
