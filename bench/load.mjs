import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
// The load generator: one official SDK Client session per virtual user, a unique payload per call, and a
// check that every reply carries the caller's own payload (a reply delivered to another session is counted
// as misrouted, never as a success).
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarise(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
  };
}

export async function connectClient({ url, transport = 'http', headers = {} }) {
  // `modern`: an SDK v2 client pinned to MCP 2026-07-28 (stateless: no initialize, no session).
  if (transport === 'modern') {
    const client = new ModernClient(
      { name: 'bench', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new ModernTransport(new URL(url), { requestInit: { headers } }));
    return client;
  }
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const target = new URL(url);
  const t =
    transport === 'sse'
      ? new SSEClientTransport(target, {
          requestInit: { headers },
          eventSourceInit: {
            fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }),
          },
        })
      : new StreamableHTTPClientTransport(target, { requestInit: { headers } });
  await client.connect(t);
  return client;
}

/** Ends a client's session on the server too (DELETE for Streamable HTTP), as a well-behaved client does. */
export async function disconnect(client) {
  if (client.transport instanceof StreamableHTTPClientTransport)
    await client.transport.terminateSession().catch(() => undefined);
  await client.close().catch(() => undefined);
}

/** CPU time (ms) and RSS (MB) of a process, from /proc (Linux). */
export function procStats(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuMs: ticks * 10, rssMb: Math.round(rssKb / 102.4) / 10 };
  } catch {
    return { cpuMs: 0, rssMb: 0 };
  }
}

/**
 * Runs `concurrency` virtual users calling `tool` for `durationMs` (or until `maxCalls`), after a short warm-up.
 * `reconnectPerCall` emulates a gateway that opens a new upstream session for every call.
 */
export async function runLoad({
  url,
  transport = 'http',
  headers = {},
  tool = 'echo',
  concurrency,
  durationMs,
  maxCalls = Infinity,
  warmupCalls = 3,
  reconnectPerCall = false,
}) {
  const latencies = [];
  let errors = 0;
  let misrouted = 0;
  let calls = 0;
  const errorSamples = new Map();
  const noteError = (error) => {
    errors++;
    const key = String(error?.message ?? error).slice(0, 120);
    errorSamples.set(key, (errorSamples.get(key) ?? 0) + 1);
  };
  // A session that cannot be opened is an error of the target, reported in its row (the run goes on).
  let connectErrors = 0;
  const clients = reconnectPerCall
    ? []
    : (
        await Promise.allSettled(
          Array.from({ length: concurrency }, () => connectClient({ url, transport, headers })),
        )
      ).map((r) => {
        if (r.status === 'fulfilled') return r.value;
        connectErrors++;
        noteError(r.reason);
        return null;
      });
  const call = async (client, vu, n) => {
    const payload = `vu${vu}-n${n}-${Math.random().toString(36).slice(2, 8)}`;
    const params = { name: tool, arguments: { message: payload } };
    // SDK v2's callTool takes the options second; v1's third (after a result schema).
    const result = await (client instanceof ModernClient
      ? client.callTool(params, { timeout: 30_000 })
      : client.callTool(params, undefined, { timeout: 30_000 }));
    if (result.isError) throw new Error(`tool error: ${JSON.stringify(result.content).slice(0, 100)}`);
    const text = result.content?.[0]?.text ?? '';
    return text.includes(payload);
  };
  for (let i = 0; i < warmupCalls && !reconnectPerCall; i++)
    await Promise.all(clients.map((c, vu) => c && call(c, vu, -1 - i).catch(() => undefined)));
  const started = performance.now();
  const deadline = started + durationMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, vu) => {
      if (!reconnectPerCall && !clients[vu]) return;
      while (performance.now() < deadline && next < maxCalls) {
        const n = next++;
        const t0 = performance.now();
        try {
          let ok;
          if (reconnectPerCall) {
            const client = await connectClient({ url, transport, headers });
            try {
              ok = await call(client, vu, n);
            } finally {
              await disconnect(client);
            }
          } else ok = await call(clients[vu], vu, n);
          if (ok) latencies.push(performance.now() - t0);
          else misrouted++;
        } catch (error) {
          noteError(error);
        }
        calls++;
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c && disconnect(c)));
  return {
    connect_errors: connectErrors,
    calls,
    ok: latencies.length,
    errors,
    misrouted,
    ...summarise(latencies),
    calls_per_s: Math.round(latencies.length / wall),
    top_errors: [...errorSamples].slice(0, 3).map(([m, c]) => `${c}x ${m}`),
  };
}
