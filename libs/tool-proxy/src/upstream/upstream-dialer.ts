import { Injectable } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { HostResolution, McpRegistry, type McpServerRecord } from '@app/mcp-registry';
import { createModernTransport, createUpstreamTransport, type ModernTransport } from './upstream-client.js';
import { guardedNetwork, OPEN_NETWORK, type UpstreamNetwork } from './upstream-network.js';
import { grantFor, type UpstreamCredential } from './oauth2-client-credentials.js';

/** A dial the gateway's policy forbids; its message says which setting decides. */
export class DialRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DialRefusedError';
  }
}

/**
 * The one place upstream transports are made (shared and per-client connections, health probes, test
 * connections), so that the dial-time rules hold for every one of them: with MCP_BLOCK_PRIVATE_URLS on,
 * every HTTP connection, redirect hop and reconnect is checked against the private-address rule on the
 * addresses it actually connects to (config-file servers with `allow_private_url: true` excepted); stdio
 * servers stored in the database start only while general_settings.allow_stdio_from_api is on. oauth2 servers
 * with client credentials get their tokens here (fetched through the same network), unless the caller passes
 * its own Authorization header through (LiteLLM's precedence: a per-request credential wins).
 */
@Injectable()
export class UpstreamDialer {
  private readonly guarded: UpstreamNetwork | null;

  constructor(
    private readonly registry: McpRegistry,
    hosts: HostResolution,
  ) {
    this.guarded = registry.policy.blockPrivateUrls ? guardedNetwork(hosts.resolve) : null;
  }

  networkFor(server: McpServerRecord): UpstreamNetwork {
    if (!this.guarded || (server.source === 'config' && server.allowPrivateUrl)) return OPEN_NETWORK;
    return this.guarded;
  }

  /**
   * A new (not yet started) transport to the server; throws DialRefusedError when policy forbids it. `signedIn`:
   * the caller's own upstream credential (oauth2 authorization_code servers, upstream-sign-ins.ts).
   */
  transport(
    server: McpServerRecord,
    headers: Record<string, string> = {},
    signedIn?: UpstreamCredential,
  ): Transport {
    const { network, credential } = this.allowed(server, headers, signedIn);
    return createUpstreamTransport(server, headers, network, credential);
  }

  /** The same, for a 2026-07-28 client on SDK v2 (Streamable HTTP or stdio; modern-upstreams.ts). */
  modernTransport(
    server: McpServerRecord,
    headers: Record<string, string> = {},
    signedIn?: UpstreamCredential,
  ): ModernTransport {
    const { network, credential } = this.allowed(server, headers, signedIn);
    return createModernTransport(server, headers, network, credential);
  }

  private allowed(server: McpServerRecord, headers: Record<string, string>, signedIn?: UpstreamCredential) {
    if (server.transport === 'stdio' && server.source === 'db' && !this.registry.policy.allowStdioFromApi)
      throw new DialRefusedError(
        `stdio server ${server.serverName} is stored in the database and general_settings.allow_stdio_from_api is off: define it in the config file`,
      );
    const network = this.networkFor(server);
    if (passesAuthorization(headers)) return { network, credential: undefined };
    if (server.authType === 'oauth2' && server.oauth2?.flow === 'authorization_code')
      return { network, credential: signedIn ?? noSignIn(server) };
    return { network, credential: grantFor(server, network) };
  }
}

/** A per-user (authorization_code) server reached without a caller (health probes, test connections). */
function noSignIn(server: McpServerRecord): UpstreamCredential {
  return {
    headers: () =>
      Promise.reject(
        new DialRefusedError(
          `MCP server ${server.serverName} uses each user's own sign-in (oauth2_flow authorization_code): it is reached only on a signed-in caller's behalf`,
        ),
      ),
    refused: () => undefined,
  };
}

/** Whether the caller passes its own Authorization to the server (it wins over the gateway's credential). */
export function passesAuthorization(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}
