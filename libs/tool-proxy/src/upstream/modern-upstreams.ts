import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { packageInfo } from '@app/core';
import { McpRegistry, type McpServerRecord, type RegistrySnapshot } from '@app/mcp-registry';
import { connectionFingerprint, headersKey } from './upstream-pool.js';
import { CONNECT_TIMEOUT_MS } from './upstream-connection.js';
import { UpstreamDialer } from './upstream-dialer.js';
import { logStderr } from './upstream-client.js';
import { redactSecrets } from './secret-redactor.js';
import { describeError, UpstreamUnavailableError } from './upstream-errors.js';
import type { UpstreamCredential } from './oauth2-client-credentials.js';
import { signInRequired } from '../oauth/sign-in-required.js';

export type { ModernClient };

/** A caller's own upstream credential (oauth2 authorization_code): its connections are theirs alone. */
export interface SignedIn {
  owner: string;
  credential: UpstreamCredential;
}

/** How long a server found to speak only 2025-11-25 is taken at its word before `server/discover` is asked again. */
const LEGACY_VERDICT_MS = 10 * 60_000;

interface Entry {
  serverId: string;
  fingerprint: string;
  client: Promise<ModernClient | null>;
}

/**
 * The gateway as a 2026-07-28 client of its upstreams (issue 20, first part), on SDK v2's `Client`: used for the
 * calls of 2026-07-28 clients (tools/call, prompts/get, resources/read), so that an upstream's own
 * `input_required` results (its keys, its `requestState`) reach the client, and the client's answers reach it.
 * The revision is the server's `protocol_version`: `auto` (the default) asks `server/discover` once and falls
 * back to 2025-11-25 (the pool's connections, as before) when the server does not offer 2026-07-28; `2026-07-28`
 * insists; `2025-11-25` never asks. 2026-07-28 is stateless, so one client per server (and distinct set of
 * passed-through headers) serves every caller: each request carries the caller's declared capabilities in its
 * own `_meta` envelope. SSE upstreams are 2025-only.
 */
@Injectable()
export class ModernUpstreams implements OnModuleDestroy {
  private readonly logger = new Logger('Upstream');
  private readonly clients = new Map<string, Entry>();
  /** Servers found to speak only 2025-11-25 (auto), until when. */
  private readonly legacy = new Map<string, { fingerprint: string; until: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    registry: McpRegistry,
    private readonly dialer: UpstreamDialer,
  ) {
    this.unsubscribe = registry.subscribe((snapshot) => this.forgetChanged(snapshot));
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((e) => e.client.then((c) => c?.close()).catch(() => undefined)));
  }

  /** Whether 2026-07-28 may be spoken to the server at all (its settings; `auto` may still find it 2025-only). */
  static mayBeModern(server: McpServerRecord): boolean {
    return server.transport !== 'sse' && server.protocolVersion !== '2025-11-25';
  }

  /**
   * The connected 2026-07-28 client for the server (and the caller's passed-through headers), or null when the
   * gateway speaks 2025-11-25 to it. A server pinned to 2026-07-28 that does not offer it is an
   * UpstreamUnavailableError saying so.
   */
  async clientFor(
    server: McpServerRecord,
    headers: Record<string, string>,
    signedIn?: SignedIn,
  ): Promise<ModernClient | null> {
    if (!ModernUpstreams.mayBeModern(server)) return null;
    const fingerprint = fingerprintOf(server);
    const known = this.legacy.get(server.serverId);
    if (known && known.fingerprint === fingerprint && known.until > Date.now()) return null;
    const key =
      server.transport === 'stdio'
        ? server.serverId
        : `${server.serverId}:${headersKey(headers) ?? ''}:${signedIn?.owner ?? ''}`;
    let entry = this.clients.get(key);
    if (!entry || entry.fingerprint !== fingerprint) {
      entry = {
        serverId: server.serverId,
        fingerprint,
        client: this.connect(server, headers, key, fingerprint, signedIn),
      };
      this.clients.set(key, entry);
    }
    const mine = entry;
    try {
      return await mine.client;
    } catch (error) {
      if (this.clients.get(key) === mine) this.clients.delete(key);
      throw error;
    }
  }

  private async connect(
    server: McpServerRecord,
    headers: Record<string, string>,
    key: string,
    fingerprint: string,
    signedIn: SignedIn | undefined,
  ): Promise<ModernClient | null> {
    const pinned = server.protocolVersion === '2026-07-28';
    const client = new ModernClient(
      { name: packageInfo().name, version: packageInfo().version },
      {
        // Declared per request (the caller's, in each request's `_meta`): nothing of the gateway's own.
        capabilities: {},
        versionNegotiation: { mode: pinned ? { pin: '2026-07-28' } : 'auto' },
        // An upstream's input_required goes to the gateway's caller, never answered here.
        inputRequired: { autoFulfill: false },
      },
    );
    const secrets = Object.values(headers);
    try {
      const transport = this.dialer.modernTransport(server, headers, signedIn?.credential);
      if ('stderr' in transport) logStderr(this.logger, server, transport.stderr, secrets);
      const timeout = Math.min(CONNECT_TIMEOUT_MS, server.timeoutMs ?? CONNECT_TIMEOUT_MS);
      await client.connect(transport, { timeout });
    } catch (error) {
      await client.close().catch(() => undefined);
      const signIn = signInRequired(error);
      if (signIn) throw signIn;
      const reason = redactSecrets(server, describeError(error), secrets);
      this.logger.warn({
        msg: 'upstream connect failed (2026-07-28)',
        server: server.serverName,
        error: reason,
      });
      throw new UpstreamUnavailableError(
        pinned
          ? `MCP server ${server.serverName} is unavailable over protocol 2026-07-28 (its protocol_version): ${reason}`
          : `MCP server ${server.serverName} is unavailable: ${reason}`,
      );
    }
    if (client.getProtocolEra() !== 'modern') {
      await client.close().catch(() => undefined);
      this.legacy.set(server.serverId, { fingerprint, until: Date.now() + LEGACY_VERDICT_MS });
      if (this.clients.get(key)?.fingerprint === fingerprint) this.clients.delete(key);
      return null;
    }
    client.onclose = () => {
      const entry = this.clients.get(key);
      if (entry?.fingerprint === fingerprint) this.clients.delete(key);
    };
    this.logger.log({ msg: 'upstream speaks 2026-07-28', server: server.serverName });
    return client;
  }

  /** Clients and verdicts of servers removed or redefined are dropped (the clients closed). */
  private forgetChanged(snapshot: RegistrySnapshot): void {
    const current = new Map(snapshot.servers.map((s) => [s.serverId, fingerprintOf(s)]));
    for (const [id, verdict] of this.legacy)
      if (current.get(id) !== verdict.fingerprint) this.legacy.delete(id);
    for (const [key, entry] of this.clients) {
      if (current.get(entry.serverId) === entry.fingerprint) continue;
      this.clients.delete(key);
      void entry.client.then((c) => c?.close()).catch(() => undefined);
    }
  }
}

function fingerprintOf(server: McpServerRecord): string {
  return `${connectionFingerprint(server)}:${server.protocolVersion ?? 'auto'}`;
}
