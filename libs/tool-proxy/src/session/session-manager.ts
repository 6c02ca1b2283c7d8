import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { GatewayMetrics } from '@app/observability';
import { ToolCaller } from '../calls/tool-caller.js';
import { McpCatalog } from '../catalog/catalog.js';
import { GatewayView } from '../catalog/gateway-view.js';
import type { CallerScope } from '../catalog/view.types.js';
import { TooManySessionsError } from '../tool-proxy.errors.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { GatewaySession } from './gateway-session.js';

/** Live client sessions: lookup by id, a cap per key, idle reaping, counts for the health view. */
@Injectable()
export class McpSessionManager implements OnModuleDestroy {
  private readonly logger = new Logger('Gateway');
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly pending = new Set<GatewaySession>();
  /** The transport of each open session (for the sessions gauge). */
  private readonly transports = new Map<GatewaySession, 'streamable_http' | 'sse'>();
  private readonly reaper: NodeJS.Timeout;

  constructor(
    private readonly view: GatewayView,
    private readonly pool: UpstreamPool,
    private readonly catalog: McpCatalog,
    private readonly caller: ToolCaller,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    metrics: GatewayMetrics,
  ) {
    metrics.labeledGauge(
      'mcp_client_sessions',
      'Client MCP sessions open on this process, by transport',
      'transport',
      () => {
        const counts: Record<string, number> = { streamable_http: 0, sse: 0 };
        for (const transport of this.transports.values()) counts[transport]++;
        return counts;
      },
    );
    const every = Math.max(1000, Math.min(60_000, config.mcp.sessionIdleTimeoutMs / 4));
    this.reaper = setInterval(() => void this.reapIdle(), every);
    this.reaper.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.reaper);
    await Promise.all([...this.sessions.values(), ...this.pending].map((s) => s.close()));
  }

  get(id: string): GatewaySession | undefined {
    return this.sessions.get(id);
  }

  /** A new session for this caller (429 past `max_sessions_per_key`); register it once its id is known. */
  create(scope: CallerScope, headers: IncomingHttpHeaders, transport: Transport): GatewaySession {
    const keyId = scope.auth.keyId;
    const live = [...this.sessions.values(), ...this.pending].filter((s) => s.keyId === keyId).length;
    if (live >= this.config.mcp.maxSessionsPerKey) {
      throw new TooManySessionsError(live, this.config.mcp.maxSessionsPerKey);
    }
    const session = new GatewaySession(
      { view: this.view, pool: this.pool, catalog: this.catalog, caller: this.caller },
      scope,
      headers,
      transport,
    );
    this.pending.add(session);
    this.transports.set(session, transport instanceof SSEServerTransport ? 'sse' : 'streamable_http');
    session.onClosed = () => {
      this.pending.delete(session);
      this.transports.delete(session);
      for (const [id, s] of this.sessions) if (s === session) this.sessions.delete(id);
    };
    return session;
  }

  register(id: string, session: GatewaySession): void {
    this.pending.delete(session);
    if (!session.closed) this.sessions.set(id, session);
  }

  stats() {
    return { client_sessions: this.sessions.size, ...this.pool.stats() };
  }

  private async reapIdle(): Promise<void> {
    const cutoff = Date.now() - this.config.mcp.sessionIdleTimeoutMs;
    const idle = [...this.sessions.values()].filter((s) => s.lastActivity < cutoff);
    if (idle.length) this.logger.log({ msg: 'closing idle MCP sessions', count: idle.length });
    await Promise.all(idle.map((s) => s.close()));
  }
}
