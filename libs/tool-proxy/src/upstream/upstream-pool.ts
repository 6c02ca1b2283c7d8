import { createHash } from 'node:crypto';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { McpRegistry, type McpServerRecord, type RegistrySnapshot } from '@app/mcp-registry';
import { GatewayMetrics } from '@app/observability';
import { ErrorCode, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { type ConnectionHooks, type ListKind, UpstreamConnection } from './upstream-connection.js';
import { UpstreamDialer } from './upstream-dialer.js';
import type { SignedIn } from './modern-upstreams.js';
import { protocolError } from './upstream-errors.js';

/** What makes two definitions of a server connect differently: any change closes its connections. */
export function connectionFingerprint(server: McpServerRecord): string {
  const { transport, url, command, args, authType, secrets, timeoutMs, oauth2 } = server;
  return createHash('sha256')
    .update(JSON.stringify({ transport, url, command, args, authType, secrets, timeoutMs, oauth2 }))
    .digest('hex');
}

/** A digest of a set of passed-through headers (names sorted); undefined for none. */
export function headersKey(headers: Record<string, string>): string | undefined {
  const names = Object.keys(headers).sort();
  if (!names.length) return undefined;
  return createHash('sha256')
    .update(JSON.stringify(names.map((n) => [n, headers[n]])))
    .digest('hex');
}

export type PoolEvent =
  | { type: 'list_changed'; serverId: string; kind: ListKind }
  /** Added, removed, or redefined in a way that changes how it is reached. */
  | { type: 'server_changed'; serverId: string }
  | { type: 'reconnected'; serverId: string }
  /** A shared connection dropped (process exit, upstream restart): what it listed may be stale. */
  | { type: 'disconnected'; serverId: string }
  /** A shared upstream said a resource changed: sessions subscribed to it relay it to their client. */
  | { type: 'resource_updated'; serverId: string; uri: string };

/**
 * The shared upstream connections (one per server and distinct set of passed-through headers), the
 * per-client ones' factory, and the events both raise. Closes what a registry change makes stale.
 */
@Injectable()
export class UpstreamPool implements OnModuleDestroy {
  private readonly shared = new Map<string, UpstreamConnection>();
  private readonly fingerprints = new Map<string, string>();
  private readonly listeners = new Set<(event: PoolEvent) => void>();
  private readonly perClient = new Set<UpstreamConnection>();
  private readonly unsubscribe: () => void;

  constructor(
    registry: McpRegistry,
    private readonly dialer: UpstreamDialer,
    private readonly metrics: GatewayMetrics,
  ) {
    this.unsubscribe = registry.subscribe((snapshot) => this.onRegistryChange(snapshot));
    this.remember(registry.current());
  }

  private readonly dial = (server: McpServerRecord, headers: Record<string, string>) =>
    this.dialer.transport(server, headers);

  private dialFor(signedIn: SignedIn | undefined) {
    if (!signedIn) return this.dial;
    return (server: McpServerRecord, headers: Record<string, string>) =>
      this.dialer.transport(server, headers, signedIn.credential);
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    const all = [...this.shared.values(), ...this.perClient];
    this.shared.clear();
    this.perClient.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  on(listener: (event: PoolEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The shared connection to a server (for headers passed through from a caller: one per distinct set; for a
   * caller's own upstream sign-in: one per owner).
   */
  sharedFor(
    server: McpServerRecord,
    headers: Record<string, string> = {},
    signedIn?: SignedIn,
  ): UpstreamConnection {
    const distinct = headersKey(headers);
    let key = distinct ? `${server.serverId}:${distinct}` : server.serverId;
    if (signedIn) key += `\n${signedIn.owner}`;
    let connection = this.shared.get(key);
    if (!connection) {
      connection = new UpstreamConnection(
        server,
        headers,
        this.observed(server, this.hooksFor(server)),
        this.dialFor(signedIn),
      );
      this.shared.set(key, connection);
    }
    return connection;
  }

  /** A new connection owned by one client session (`per_client` mode); `release` it when the session ends. */
  openForClient(
    server: McpServerRecord,
    headers: Record<string, string>,
    hooks: ConnectionHooks = {},
    signedIn?: SignedIn,
  ) {
    const connection = new UpstreamConnection(
      server,
      headers,
      this.observed(server, hooks),
      this.dialFor(signedIn),
    );
    this.perClient.add(connection);
    return connection;
  }

  async release(connection: UpstreamConnection): Promise<void> {
    this.perClient.delete(connection);
    await connection.close();
  }

  /** Live counts, for the admin and health views (a leak shows here). */
  stats() {
    const all = [...this.shared.values(), ...this.perClient];
    return {
      shared_connections: [...this.shared.values()].filter((c) => c.connected).length,
      client_connections: [...this.perClient].filter((c) => c.connected).length,
      stdio_processes: all.filter((c) => c.connected && c.server.transport === 'stdio').length,
    };
  }

  /** The hooks, with connects and failed connects counted in the metrics (mcp_upstream_up and connects). */
  private observed(server: McpServerRecord, hooks: ConnectionHooks): ConnectionHooks {
    const name = server.serverName;
    return {
      ...hooks,
      onConnected: (again) => {
        this.metrics.upstreamConnect(name, true);
        hooks.onConnected?.(again);
      },
      onConnectFailed: () => {
        this.metrics.upstreamConnect(name, false);
        hooks.onConnectFailed?.();
      },
    };
  }

  private hooksFor(server: McpServerRecord): ConnectionHooks {
    const { serverId, serverName } = server;
    return {
      onListChanged: (kind) => this.emit({ type: 'list_changed', serverId, kind }),
      // Only a reconnect may mean different lists; the first connect is the one listing them.
      onConnected: (again) => {
        if (again) this.emit({ type: 'reconnected', serverId });
      },
      onDisconnected: () => this.emit({ type: 'disconnected', serverId }),
      configure: (client) => {
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) =>
          this.emit({ type: 'resource_updated', serverId, uri: notification.params.uri }),
        );
        // Requests from a shared upstream (sampling, elicitation, roots) cannot be routed to one client.
        client.fallbackRequestHandler = (request) =>
          Promise.reject(
            protocolError(
              ErrorCode.MethodNotFound,
              `${request.method} is not available through the gateway for MCP server ${serverName}: it is shared by all clients (session_mode: shared), so its requests cannot be routed to one of them; set session_mode: per_client to enable it`,
            ),
          );
      },
    };
  }

  private emit(event: PoolEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private remember(snapshot: RegistrySnapshot): Set<string> {
    const changed = new Set<string>();
    const seen = new Set<string>();
    for (const server of snapshot.servers) {
      seen.add(server.serverId);
      const fingerprint = connectionFingerprint(server);
      const before = this.fingerprints.get(server.serverId);
      if (before !== fingerprint) changed.add(server.serverId);
      this.fingerprints.set(server.serverId, fingerprint);
    }
    for (const id of [...this.fingerprints.keys()]) {
      if (!seen.has(id)) {
        this.fingerprints.delete(id);
        changed.add(id);
      }
    }
    return changed;
  }

  private onRegistryChange(snapshot: RegistrySnapshot): void {
    const changed = this.remember(snapshot);
    for (const id of changed)
      if (!snapshot.byId.has(id)) {
        const gone = [...this.shared.values()].find((c) => c.server.serverId === id);
        if (gone) this.metrics.forgetServer(gone.server.serverName);
      }
    for (const [key, connection] of this.shared) {
      const id = connection.server.serverId;
      if (changed.has(id) || !snapshot.byId.has(id)) {
        this.shared.delete(key);
        void connection.close();
      }
    }
    for (const id of changed) this.emit({ type: 'server_changed', serverId: id });
  }
}
