import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerRecord } from '@app/mcp-registry';
import { redactSecrets } from './secret-redactor.js';
import { createUpstreamTransport, newUpstreamClient } from './upstream-client.js';

export type HealthStatus = 'healthy' | 'unhealthy' | 'unknown';

export interface ProbeResult {
  status: Exclude<HealthStatus, 'unknown'>;
  latency_ms: number;
  tools: Tool[];
  error?: string;
  checked_at: Date;
}

/** Longest a health check waits, whatever the server's own timeout. */
export const MAX_PROBE_MS = 10_000;

/**
 * Connects to the upstream, runs `initialize` and `tools/list`, and disconnects, all within a bounded time.
 * A reachable server with no tools is healthy; anything that fails or times out is not. Never throws.
 */
export async function probeMcpServer(
  server: McpServerRecord,
  timeoutMs = MAX_PROBE_MS,
  dial: (server: McpServerRecord) => Transport = (s) => createUpstreamTransport(s),
): Promise<ProbeResult> {
  const started = performance.now();
  const client = newUpstreamClient();
  const limit = Math.min(timeoutMs, MAX_PROBE_MS);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
  });
  try {
    const work = (async () => {
      await client.connect(dial(server), { timeout: limit });
      return (await client.listTools(undefined, { timeout: limit })).tools;
    })();
    work.catch(() => undefined); // settled below or abandoned after the deadline
    const tools = await Promise.race([work, deadline]);
    return { status: 'healthy', latency_ms: elapsed(started), tools, checked_at: new Date() };
  } catch (error) {
    return {
      status: 'unhealthy',
      latency_ms: elapsed(started),
      tools: [],
      error: redactSecrets(server, describe(error)),
      checked_at: new Date(),
    };
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => undefined);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** A short, secret-free reason: upstream error messages can echo URLs, so only the first line is kept. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`.split('\n')[0].slice(0, 500);
}
