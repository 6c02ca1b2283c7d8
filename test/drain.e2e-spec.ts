import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RichFixture, startRichFixture } from '@app/testing';
import { startGatewayProcess, stopAllGatewayProcesses } from './helpers/gateway-process.js';

/**
 * Graceful drain (issue 13), on the built gateway process as an operator runs it: on SIGTERM readiness turns
 * 503 at once and no new session opens, while a call in flight finishes and gets its result; then it exits 0.
 */
describe('graceful drain on SIGTERM (e2e, built gateway process)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-drain-'));
  const MASTER_KEY = 'sk-master-e2e-drain';
  const auth = { Authorization: `Bearer ${MASTER_KEY}` };
  let web: RichFixture;

  beforeAll(async () => {
    web = await startRichFixture('web', 'http');
  });
  afterAll(async () => {
    stopAllGatewayProcesses();
    await web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(grace: number) {
    const file = path.join(dir, `config-${grace}.yaml`);
    writeFileSync(
      file,
      `mcp_servers:\n  web:\n    url: ${web.url}\ngeneral_settings:\n  shutdown_grace_seconds: ${grace}\n`,
    );
    const gw = startGatewayProcess(
      ['--config', file],
      { PORT: '0', HOST: '127.0.0.1', EMBEDDED_DB_DIR: 'memory://', MASTER_KEY },
      dir,
    );
    const listening = await gw.waitForLine(/MCP gateway listening/);
    const url = `http://127.0.0.1:${(JSON.parse(listening) as { port: number }).port}`;
    const client = new Client({ name: 'drain-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: auth } }),
    );
    return { gw, url, client };
  }

  /** Starts a call of the upstream's sleep tool and resolves once the upstream runs it (with the call). */
  async function sleepingCall(client: Client, ms: number) {
    const before = web.stats.sleeping;
    const call = client.callTool({ name: 'web-sleep', arguments: { ms } }, undefined, { timeout: 30_000 });
    await web.until('the upstream to run the call', (stats) => stats.sleeping > before);
    return { call };
  }

  it('lets a 4 s call finish, answers readiness 503 and refuses new sessions meanwhile, then exits 0', async () => {
    const { gw, url, client } = await start(30);
    const { call } = await sleepingCall(client, 4000);
    const started = Date.now();
    gw.child.kill('SIGTERM');
    const line = await gw.waitForLine(/SIGTERM received: draining/);
    expect(line).toContain('1 calls in flight');

    const ready = await fetch(`${url}/health/readiness`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('draining');
    const fresh = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'late', version: '1' },
        },
      }),
    });
    expect(fresh.status).toBe(503);
    // An MCP route: a JSON-RPC error, the API's error object as its data, and when to come back.
    expect(fresh.headers.get('retry-after')).toBe('5');
    const refused = (await fresh.json()) as {
      jsonrpc: string;
      error: { code: number; data: { code: string } };
    };
    expect(refused).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000, data: { code: 'GATEWAY_DRAINING' } },
    });

    const result = (await call) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect((result.content[0] as { text: string }).text).toBe('slept');
    expect(Date.now() - started).toBeGreaterThan(2000);
    expect(await gw.exited).toBe(0);
    await client.close().catch(() => undefined);
  });

  it('past shutdown_grace_seconds it closes anyway, saying how many calls were cut', async () => {
    const { gw, client } = await start(1);
    const { call } = await sleepingCall(client, 20_000);
    const settled = call.catch((error: unknown) => error);
    const started = Date.now();
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(gw.lines.some((l) => l.includes('1 calls still in flight after 1 s'))).toBe(true);
    await settled;
    await client.close().catch(() => undefined);
  });
});
