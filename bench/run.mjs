// `npm run bench` (and `npm run bench:smoke`): what the gateway adds to every call, measured against the
// direct upstream, a raw byte-level proxy (the floor), and the open-source stdio proxies people use, in the
// same run on the same machine. Prints Markdown tables; writes bench/results/<date>.json.
//   node bench/run.mjs [--smoke] [--rounds N] [--duration MS] [--only http,stdio,list,setup,reconnect,idle,replicas]
//                      [--concurrency 1,16,64] [--profile DIR] [--baseline DIR] [--setting key=value]
// The gateway runs from the production build (NODE_ENV=production), on DATABASE_URL when set, else the
// embedded database, with auth, scoping, audit logging and access logs on (logs go to /dev/null).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { GATEWAY_ENV, gatewayArgs } from './gateway.mjs';
import { connectClient, disconnect, procStats, runLoad, summarise } from './load.mjs';
import { replicasScenario } from './replicas.mjs';

const root = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => (flag(name) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const smoke = flag('smoke');
const rounds = Number(option('rounds', smoke ? '1' : '3'));
const durationMs = Number(option('duration', smoke ? '1500' : '4000'));
const only = option('only', null)?.split(',') ?? null;
/** `--profile DIR`: the gateway writes a CPU profile there when the run ends (node --cpu-prof). */
const profileDir = option('profile', null);
/**
 * `--baseline DIR`: a second gateway, built in another checkout (say a worktree of the commit before a change),
 * runs beside this one; scenarios 1 and 2 measure it as extra targets in the same alternating rounds.
 */
const baselineDir = option('baseline', null);
/**
 * `--setting key=value` (repeatable): a general_settings line for the gateways under test, e.g.
 * `--setting tool_call_log=false` to measure without the audit log.
 */
const generalSettings = argv
  .flatMap((arg, i) => (arg === '--setting' ? [argv[i + 1]] : []))
  .map((pair) => `  ${pair.replace('=', ': ')}\n`)
  .join('');
const concurrencies = option('concurrency', smoke ? '1,4' : '1,16,64')
  .split(',')
  .map(Number);
const idleCounts = smoke ? [0, 20] : [0, 1000, 5000];
const MASTER_KEY = 'sk-bench-master-key';
const work = mkdtempSync(path.join(os.tmpdir(), 'mcp-bench-'));
const children = [];
const echoScript = path.join(root, 'bench/echo-server.mjs');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const wants = (scenario) => only === null || only.includes(scenario);

// The gateway runs from dist/: build it when a source is newer than the last build (a no-op otherwise).
execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });

function start(command, args, { env = {}, quiet = false } = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'pipe'],
  });
  children.push(child);
  return child;
}

function waitFor(child, pattern, what, timeoutMs = 90_000) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const onData = (chunk) => {
      buffer = (buffer + chunk.toString()).slice(-20_000);
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}: ${buffer.slice(-500)}`)));
  });
}

const freePortOf = (url) => new URL(url).port;

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function api(port, method, route, body) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

const median = (values) => {
  const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
const fmt = (v, digits = 2) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));

async function main() {
  const results = { scenarios: {} };
  console.error(
    `bench: ${smoke ? 'smoke' : 'full'} run, ${rounds} round(s), ${durationMs} ms per measurement`,
  );

  // Upstreams.
  const echo = start(process.execPath, [echoScript, '--transport', 'http']);
  const echoUrl = await waitFor(echo, /listening (\S+)/, 'echo');
  const bigUrl = await waitFor(
    start(process.execPath, [echoScript, '--transport', 'http', '--tools', '50']),
    /listening (\S+)/,
    'echo (50 tools)',
  );
  const raw = start(process.execPath, [
    path.join(root, 'bench/raw-proxy.mjs'),
    '--target',
    `127.0.0.1:${freePortOf(echoUrl)}`,
  ]);
  const rawBase = await waitFor(raw, /listening (\S+)/, 'raw proxy');

  // The gateway, from the production build (and the baseline's, when asked for), with the same servers and keys.
  const config = path.join(work, 'config.yaml');
  // The stdio server is registered through the API below, with the master key: that needs the opt-in.
  writeFileSync(
    config,
    `general_settings:\n  master_key: ${MASTER_KEY}\n  max_sessions_per_key: 20000\n  allow_stdio_from_api: true\n${generalSettings}`,
  );
  const servers = [
    { server_name: 'echo', url: echoUrl },
    {
      server_name: 'echostdio',
      transport: 'stdio',
      command: 'node',
      args: [echoScript, '--transport', 'stdio'],
    },
    ...Array.from({ length: 10 }, (_, i) => ({ server_name: `big${i}`, url: `${bigUrl}?copy=${i}` })),
  ];
  async function startGateway(checkout, profile) {
    const child = start(
      process.execPath,
      [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), ...gatewayArgs(checkout, config)],
      {
        env: {
          ...GATEWAY_ENV,
          ...(process.env.DATABASE_URL ? {} : { EMBEDDED_DB_DIR: 'memory://' }),
        },
      },
    );
    const port = Number(await waitFor(child, /"port":(\d+)/, `the gateway in ${checkout}`));
    child.stdout.resume();
    child.stderr.resume();
    // Servers, a team and a key, through the admin API.
    for (const server of servers) await api(port, 'POST', '/v1/mcp/server', server);
    await api(port, 'POST', '/team/new', {
      team_id: 'bench',
      object_permission: { mcp_servers: ['echo', 'echostdio'] },
    });
    await api(port, 'POST', '/team/new', {
      team_id: 'bench-big',
      object_permission: {
        mcp_servers: servers.filter((s) => s.server_name.startsWith('big')).map((s) => s.server_name),
      },
    });
    const key = (await api(port, 'POST', '/key/generate', { key_alias: 'bench', team_id: 'bench' })).key;
    const bigKey = (
      await api(port, 'POST', '/key/generate', { key_alias: 'bench-big', team_id: 'bench-big' })
    ).key;
    return { child, port, url: `http://127.0.0.1:${port}`, key, bigKey };
  }
  const current = await startGateway(root, profileDir);
  const gateway = current.child;
  const { port, key, bigKey } = current;
  const gw = current.url;
  const auth = { Authorization: `Bearer ${key}` };
  const baseline = baselineDir
    ? await startGateway(path.resolve(baselineDir), profileDir && path.join(profileDir, 'baseline'))
    : null;
  const baselineAuth = baseline ? { Authorization: `Bearer ${baseline.key}` } : null;

  const measure = async (target, concurrency, extra = {}) => {
    const before = target.pid ? procStats(target.pid) : null;
    const row = await runLoad({ concurrency, durationMs, ...target.load, ...extra });
    const after = target.pid ? procStats(target.pid) : null;
    if (before && after) {
      row.cpu_ms_per_call = row.ok ? Math.round(((after.cpuMs - before.cpuMs) / row.ok) * 1000) / 1000 : null;
      row.rss_mb = after.rssMb;
    }
    return row;
  };

  /** Alternating rounds (A B C ... A B C ...), medians, ratios to the first target of the same round. */
  async function compare(name, targets) {
    const raw = [];
    // One unmeasured pass over every target first: the first measured target must not pay for the JIT
    // warm-up of a process that every target shares (the gateway serves three of them).
    for (const target of targets)
      await runLoad({ concurrency: 4, durationMs: smoke ? 200 : 1000, ...target.load });
    for (const concurrency of concurrencies) {
      for (let round = 0; round < rounds; round++) {
        for (const target of targets) {
          const row = await measure(target, concurrency);
          raw.push({ target: target.label, concurrency, round, ...row });
          console.error(
            `  ${name} ${target.label} C=${concurrency} r${round}: p50 ${fmt(row.p50)} ms, ${row.calls_per_s}/s, errors ${row.errors}, misrouted ${row.misrouted}`,
          );
        }
      }
    }
    const base = targets[0].label;
    const summary = [];
    for (const concurrency of concurrencies) {
      for (const target of targets) {
        const rows = raw.filter((r) => r.target === target.label && r.concurrency === concurrency);
        const ratios = rows.map((r) => {
          const b = raw.find(
            (x) => x.target === base && x.concurrency === concurrency && x.round === r.round,
          );
          return {
            p50: b?.p50 ? r.p50 / b.p50 : null,
            cps: b?.calls_per_s ? r.calls_per_s / b.calls_per_s : null,
          };
        });
        summary.push({
          target: target.label,
          concurrency,
          p50: median(rows.map((r) => r.p50)),
          p95: median(rows.map((r) => r.p95)),
          p99: median(rows.map((r) => r.p99)),
          calls_per_s: median(rows.map((r) => r.calls_per_s)),
          p50_vs_base: median(ratios.map((r) => r.p50)),
          cps_vs_base: median(ratios.map((r) => r.cps)),
          errors: rows.reduce((a, r) => a + r.errors, 0),
          misrouted: rows.reduce((a, r) => a + r.misrouted, 0),
          cpu_ms_per_call: median(rows.map((r) => r.cpu_ms_per_call ?? null)),
          rss_mb: median(rows.map((r) => r.rss_mb ?? null)),
        });
      }
    }
    results.scenarios[name] = { raw, summary };
    return summary;
  }

  const tables = [];
  const table = (title, header, rows) =>
    tables.push(
      `### ${title}\n\n| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`,
    );
  const callTable = (title, summary) =>
    table(
      title,
      [
        'target',
        'C',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'calls/s',
        'p50 vs base',
        'calls/s vs base',
        'errors',
        'misrouted',
        'CPU ms/call',
        'RSS MB',
      ],
      summary.map((s) => [
        s.target,
        s.concurrency,
        fmt(s.p50),
        fmt(s.p95),
        fmt(s.p99),
        s.calls_per_s ?? '–',
        `${fmt(s.p50_vs_base)}x`,
        `${fmt(s.cps_vs_base)}x`,
        s.errors,
        s.misrouted,
        fmt(s.cpu_ms_per_call, 3),
        fmt(s.rss_mb, 1),
      ]),
    );

  // 1. tools/call over HTTP: direct, raw proxy, gateway (aggregated, SSE, single-server).
  if (wants('http')) {
    console.error('scenario 1: tools/call, Streamable HTTP upstream');
    const summary = await compare('http', [
      // CPU and RSS: of the upstream itself for `direct`, of the process in the middle for the others.
      { label: 'direct', pid: echo.pid, load: { url: echoUrl, tool: 'echo' } },
      { label: 'raw proxy (floor)', pid: raw.pid, load: { url: `${rawBase}/mcp`, tool: 'echo' } },
      {
        label: 'gateway /mcp',
        pid: gateway.pid,
        load: { url: `${gw}/mcp`, headers: auth, tool: 'echo-echo' },
      },
      {
        label: 'gateway SSE',
        pid: gateway.pid,
        load: { url: `${gw}/mcp/sse`, transport: 'sse', headers: auth, tool: 'echo-echo' },
      },
      {
        label: 'gateway /echo/mcp',
        pid: gateway.pid,
        load: { url: `${gw}/echo/mcp`, headers: auth, tool: 'echo' },
      },
      {
        // MCP 2026-07-28: stateless, every request authenticated and served on its own (no session setup).
        label: 'gateway /mcp 2026-07-28',
        pid: gateway.pid,
        load: { url: `${gw}/mcp`, transport: 'modern', headers: auth, tool: 'echo-echo' },
      },
      ...(baseline
        ? [
            {
              label: 'gateway (baseline) /mcp',
              pid: baseline.child.pid,
              load: { url: `${baseline.url}/mcp`, headers: baselineAuth, tool: 'echo-echo' },
            },
            {
              label: 'gateway (baseline) /echo/mcp',
              pid: baseline.child.pid,
              load: { url: `${baseline.url}/echo/mcp`, headers: baselineAuth, tool: 'echo' },
            },
            {
              label: 'gateway (baseline) /mcp 2026-07-28',
              pid: baseline.child.pid,
              load: {
                url: `${baseline.url}/mcp`,
                transport: 'modern',
                headers: baselineAuth,
                tool: 'echo-echo',
              },
            },
          ]
        : []),
    ]);
    callTable('1. tools/call, Streamable HTTP echo upstream (base: direct)', summary);
  }

  // 2. tools/call over a stdio upstream: the gateway vs mcp-proxy vs supergateway.
  if (wants('stdio')) {
    console.error('scenario 2: tools/call, stdio upstream');
    const [proxyPort, superPort] = [await freePort(), await freePort()];
    const proxy = start(
      bin('mcp-proxy'),
      ['--port', String(proxyPort), '--host', '127.0.0.1', '--', 'node', echoScript, '--transport', 'stdio'],
      { quiet: true },
    );
    proxy.stdout.resume();
    await waitForPort(proxyPort, 'mcp-proxy');
    const sg = start(bin('supergateway'), [
      '--stdio',
      `node ${echoScript} --transport stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(superPort),
      '--logLevel',
      'none',
    ]);
    sg.stdout.resume();
    sg.stderr.resume();
    await waitForPort(superPort, 'supergateway');
    const summary = await compare('stdio', [
      {
        label: 'gateway /echostdio/mcp',
        pid: gateway.pid,
        load: { url: `${gw}/echostdio/mcp`, headers: auth, tool: 'echo' },
      },
      ...(baseline
        ? [
            {
              label: 'gateway (baseline) /echostdio/mcp',
              pid: baseline.child.pid,
              load: { url: `${baseline.url}/echostdio/mcp`, headers: baselineAuth, tool: 'echo' },
            },
          ]
        : []),
      {
        label: 'mcp-proxy',
        pid: proxy.pid,
        load: { url: `http://127.0.0.1:${proxyPort}/mcp`, tool: 'echo' },
      },
      {
        label: 'supergateway (stateful)',
        pid: sg.pid,
        load: { url: `http://127.0.0.1:${superPort}/mcp`, tool: 'echo' },
      },
    ]);
    proxy.kill();
    sg.kill();
    callTable('2. tools/call, stdio echo upstream (base: the gateway)', summary);
  }

  // 3. tools/list of 10 upstreams x 50 tools: warm, and after an invalidation.
  if (wants('list')) {
    console.error('scenario 3: tools/list, 10 x 50 tools');
    const client = await connectClient({ url: `${gw}/mcp`, headers: { Authorization: `Bearer ${bigKey}` } });
    const first = await client.listTools();
    // Two clocks: the SDK's listTools() (which also validates all 500 tools with zod and compiles their
    // output schemas, on the client), and the same request with the result taken as it comes: the gateway's
    // own round trip.
    const warm = [];
    const warmRaw = [];
    const n = smoke ? 20 : 300;
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      await client.listTools();
      warm.push(performance.now() - t0);
      t0 = performance.now();
      await client.request({ method: 'tools/list', params: {} }, ResultSchema);
      warmRaw.push(performance.now() - t0);
    }
    const cold = [];
    for (let i = 0; i < (smoke ? 2 : 10); i++) {
      // timeout_ms is part of how an upstream is reached: changing it drops big0's connection and its cached list.
      await api(port, 'PUT', '/v1/mcp/server', {
        server_id: (await api(port, 'GET', '/v1/mcp/server/big0')).server_id,
        timeout_ms: 30_000 + i + 1,
      });
      const t0 = performance.now();
      await client.listTools();
      cold.push(performance.now() - t0);
    }
    await client.close();
    // The reference: one SDK upstream serving the same 500 tools, listed directly by the same client.
    const direct500 = start(process.execPath, [echoScript, '--transport', 'http', '--tools', '500']);
    const direct = await connectClient({
      url: await waitFor(direct500, /listening (\S+)/, 'echo (500 tools)'),
    });
    await direct.listTools();
    const directWarm = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await direct.listTools();
      directWarm.push(performance.now() - t0);
    }
    await direct.close();
    direct500.kill();
    const row = {
      tools: first.tools.length,
      direct_one_upstream_500_tools: summarise(directWarm),
      warm: summarise(warm),
      warm_unvalidated: summarise(warmRaw),
      after_invalidation: summarise(cold),
      errors: first.tools.length === 500 ? 0 : 1,
    };
    results.scenarios.list = row;
    table(
      '3. tools/list, 10 upstreams x 50 tools',
      [
        'tools listed',
        'direct, one upstream with 500 tools: p50 ms',
        'gateway warm p50 ms',
        'warm p95 ms',
        'warm, unvalidated p50 ms',
        'p95 ms',
        'after invalidation p50 ms',
        'p95 ms',
      ],
      [
        [
          row.tools,
          fmt(row.direct_one_upstream_500_tools.p50),
          fmt(row.warm.p50),
          fmt(row.warm.p95),
          fmt(row.warm_unvalidated.p50),
          fmt(row.warm_unvalidated.p95),
          fmt(row.after_invalidation.p50),
          fmt(row.after_invalidation.p95),
        ],
      ],
    );
  }

  // 4. Session setup: initialize + first tools/list, 64 at once.
  if (wants('setup')) {
    console.error('scenario 4: session setup at concurrency 64');
    const setup = async (url, headers) => {
      const times = [];
      let errors = 0;
      const clients = [];
      await Promise.all(
        Array.from({ length: smoke ? 8 : 64 }, async () => {
          const t0 = performance.now();
          try {
            const client = await connectClient({ url, headers });
            await client.listTools();
            times.push(performance.now() - t0);
            clients.push(client);
          } catch {
            errors++;
          }
        }),
      );
      await Promise.all(clients.map((c) => disconnect(c)));
      return { ...summarise(times), errors };
    };
    // Bursts alternate (direct, gateway, direct, gateway, ...): the first ones meet processes that have not
    // yet compiled their session-setup code (how a burst after a deploy feels), the later ones do not.
    const bursts = smoke ? 1 : 3;
    const rows = [];
    for (let burst = 1; burst <= bursts; burst++) {
      for (const [label, url, headers] of [
        ['direct', echoUrl, {}],
        ['gateway /mcp', `${gw}/mcp`, auth],
      ]) {
        const row = await setup(url, headers);
        rows.push({ target: label, burst, ...row });
      }
    }
    results.scenarios.setup = rows;
    table(
      '4. initialize + first tools/list, all at once',
      ['target', 'burst', 'sessions', 'p50 ms', 'p95 ms', 'errors'],
      rows.map((r) => [r.target, r.burst, smoke ? 8 : 64, fmt(r.p50), fmt(r.p95), r.errors]),
    );
  }

  // 6. The per-call-reconnect design (a new upstream session for every call) beside persistent sessions.
  if (wants('reconnect')) {
    console.error('scenario 6: per-call reconnect vs persistent sessions');
    const c = smoke ? 2 : 16;
    const reconnect = await runLoad({
      url: echoUrl,
      tool: 'echo',
      concurrency: c,
      durationMs,
      reconnectPerCall: true,
    });
    const persistent = await runLoad({
      url: `${gw}/mcp`,
      headers: auth,
      tool: 'echo-echo',
      concurrency: c,
      durationMs,
    });
    results.scenarios.reconnect = {
      concurrency: c,
      reconnect_per_call: reconnect,
      gateway_persistent: persistent,
    };
    table(
      `6. per-call reconnect (emulated, direct to the upstream) vs the gateway's persistent sessions, C=${c}`,
      ['design', 'p50 ms', 'calls/s', 'errors', 'misrouted'],
      [
        [
          'new upstream session per call',
          fmt(reconnect.p50),
          reconnect.calls_per_s,
          reconnect.errors,
          reconnect.misrouted,
        ],
        [
          'gateway, persistent sessions',
          fmt(persistent.p50),
          persistent.calls_per_s,
          persistent.errors,
          persistent.misrouted,
        ],
      ],
    );
  }

  // 5. Idle sessions: gateway RSS with 0, 1,000 and 5,000 open client sessions (last: they stay open).
  if (wants('idle')) {
    console.error('scenario 5: idle sessions');
    const rows = [];
    let open = 0;
    let errors = 0;
    const openSession = async () => {
      const res = await fetch(`${gw}/mcp`, {
        method: 'POST',
        headers: {
          ...auth,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'idle', version: '1' },
          },
        }),
      });
      const id = res.headers.get('mcp-session-id');
      await res.text();
      if (!res.ok || !id) throw new Error(`initialize: ${res.status}`);
      await fetch(`${gw}/mcp`, {
        method: 'POST',
        headers: {
          ...auth,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'mcp-session-id': id,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      }).then((r) => r.text());
    };
    for (const target of idleCounts) {
      while (open < target) {
        const batch = Math.min(32, target - open);
        await Promise.all(Array.from({ length: batch }, () => openSession().catch(() => errors++)));
        open += batch;
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      rows.push({ sessions: target, rss_mb: procStats(gateway.pid).rssMb });
    }
    const base = rows[0].rss_mb;
    for (const r of rows)
      r.kb_per_session = r.sessions ? Math.round(((r.rss_mb - base) * 1024) / r.sessions) : null;
    results.scenarios.idle = { rows, errors };
    table(
      '5. idle Streamable HTTP sessions: gateway RSS',
      ['open sessions', 'RSS MB', 'KB per session'],
      rows.map((r) => [r.sessions, fmt(r.rss_mb, 1), r.kb_per_session ?? '–']),
    );
  }

  // 7. Two replicas on one Postgres (bench/replicas.mjs): propagation and failover.
  if (wants('replicas')) {
    console.error('scenario 7: two replicas, propagation and failover');
    const rows = await replicasScenario({
      root,
      start,
      waitFor,
      config,
      masterKey: MASTER_KEY,
      echoUrl,
      samples: smoke ? 5 : 40,
    });
    if (rows) {
      results.scenarios.replicas = rows;
      const pair = (v) => `${fmt(v.p50)} / ${fmt(v.p95)}`;
      table(
        `7. two replicas on one Postgres: propagation and failover (p50 / p95 ms, ${rows[0]?.samples} samples)`,
        [
          'session store',
          'server added → listed on the other',
          'key blocked → refused on the other',
          'call, opening replica',
          'first call on the other',
          'next call there',
        ],
        rows.map((r) => [
          r.store,
          pair(r.server_propagation_ms),
          pair(r.key_block_propagation_ms),
          pair(r.call_on_opening_replica_ms),
          pair(r.first_call_on_other_replica_ms),
          pair(r.next_call_on_other_replica_ms),
        ]),
      );
    }
  }

  // Report.
  const pkg = (name) =>
    JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  results.machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  results.versions = {
    gateway: JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version,
    sdk: pkg('@modelcontextprotocol/sdk'),
    'mcp-proxy': pkg('mcp-proxy'),
    supergateway: pkg('supergateway'),
  };
  results.date = new Date().toISOString();
  results.options = {
    smoke,
    rounds,
    duration_ms: durationMs,
    concurrencies,
    database: process.env.DATABASE_URL ? 'postgres' : 'embedded',
  };
  console.log(
    `## Benchmark ${results.date} (${smoke ? 'smoke' : 'full'}; ${results.machine.cpus} CPUs, ${results.machine.node})\n\n${tables.join('\n')}`,
  );
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(
    root,
    'bench/results',
    `${results.date.replace(/[:.]/g, '-')}${smoke ? '-smoke' : ''}.json`,
  );
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.error(`raw results: ${path.relative(root, file)}`);

  // Errors and misrouted replies fail the run (timings never do).
  // Only the gateway's own rows gate the run: another proxy failing is a finding, reported in its row.
  const bad = [];
  const isOthers = (value) => typeof value?.target === 'string' && !value.target.startsWith('gateway');
  const visit = (value, where) => {
    if (isOthers(value)) return;
    if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if ((k === 'errors' || k === 'misrouted') && typeof v === 'number' && v > 0)
          bad.push(`${where}.${k}=${v}`);
        else if (!['raw', 'reconnect_per_call', 'direct'].includes(k)) visit(v, `${where}.${k}`);
      }
    }
  };
  visit(results.scenarios, 'scenarios');
  if (bad.length) {
    console.error(`errors or misrouted replies: ${bad.join(', ')}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
  // Give the gateway time to shut down cleanly (and write its profile when asked to).
  setTimeout(() => process.exit(), profileDir ? 5000 : 500).unref();
}
