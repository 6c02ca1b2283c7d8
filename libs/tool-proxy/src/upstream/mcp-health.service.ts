import { Injectable } from '@nestjs/common';
import { McpRegistry, type McpServerRecord } from '@app/mcp-registry';
import { type HealthStatus, MAX_PROBE_MS, probeMcpServer, type ProbeResult } from './mcp-probe.js';
import { UpstreamDialer } from './upstream-dialer.js';

export interface ServerHealth {
  server_id: string;
  status: HealthStatus;
  latency_ms: number | null;
  last_health_check: string | null;
  error?: string;
}

/** Live health checks of upstream servers, remembering the last result of each. */
@Injectable()
export class McpHealthService {
  private readonly last = new Map<string, ProbeResult>();

  constructor(
    registry: McpRegistry,
    private readonly dialer: UpstreamDialer,
  ) {
    registry.subscribe((snapshot) => {
      for (const id of this.last.keys()) if (!snapshot.byId.has(id)) this.last.delete(id);
    });
  }

  /** Connects, initializes and lists tools once, through the dialer (so its dial-time rules hold). */
  probe(server: McpServerRecord): Promise<ProbeResult> {
    return probeMcpServer(server, server.timeoutMs ?? MAX_PROBE_MS, (s) => this.dialer.transport(s));
  }

  async check(server: McpServerRecord): Promise<ServerHealth> {
    const result = await this.probe(server);
    this.last.set(server.serverId, result);
    return toHealth(server.serverId, result);
  }

  /** Checks several servers at once (each bounded in time). */
  checkMany(servers: readonly McpServerRecord[]): Promise<ServerHealth[]> {
    return Promise.all(servers.map((s) => this.check(s)));
  }

  lastKnown(serverId: string): ServerHealth {
    const result = this.last.get(serverId);
    return result
      ? toHealth(serverId, result)
      : { server_id: serverId, status: 'unknown', latency_ms: null, last_health_check: null };
  }
}

function toHealth(serverId: string, result: ProbeResult): ServerHealth {
  return {
    server_id: serverId,
    status: result.status,
    latency_ms: result.latency_ms,
    last_health_check: result.checked_at.toISOString(),
    ...(result.error ? { error: result.error } : {}),
  };
}
