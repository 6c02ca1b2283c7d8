import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type {
  JsonSchemaType,
  JsonSchemaValidator,
  jsonSchemaValidator,
} from '@modelcontextprotocol/sdk/validation';
import { StreamableHTTPClientTransport as ModernStreamableHttp } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdio } from '@modelcontextprotocol/client/stdio';
import type { Stream } from 'node:stream';
import type { Logger } from '@nestjs/common';
import { packageInfo } from '@app/core';
import { redactSecrets } from './secret-redactor.js';
import { NodeStreamableHttpClientTransport } from './http-client-transport.js';
import { inSentOrder } from './message-order.js';
import { OPEN_NETWORK, type UpstreamNetwork } from './upstream-network.js';
import { fetchWithCredential, type UpstreamCredential } from './oauth2-client-credentials.js';
import { dialUrl, forwardableHeaders, type McpServerRecord, upstreamHeaders } from '@app/mcp-registry';

/**
 * A client transport for the server's kind of upstream (not yet started); `credential` adds headers that
 * change over time (an OAuth2 token) to every HTTP request.
 */
export function createUpstreamTransport(
  server: McpServerRecord,
  extraHeaders: Record<string, string> = {},
  network: UpstreamNetwork = OPEN_NETWORK,
  credential?: UpstreamCredential,
): Transport {
  if (server.transport === 'stdio') {
    return inSentOrder(new StdioClientTransport(stdioParams(server)));
  }
  const url = new URL(dialUrl(server));
  // Only end-to-end headers, whatever was stored before the rules existed or a caller sent (issue 15).
  const headers = forwardableHeaders({ ...upstreamHeaders(server), ...extraHeaders });
  if (server.transport === 'sse') {
    // Both the POSTs and the SSE GET go through the network's fetch (its agents check every dial when guarded).
    const fetch = credential ? fetchWithCredential(network.fetch, credential) : network.fetch;
    return inSentOrder(
      new SSEClientTransport(url, {
        requestInit: { headers },
        fetch,
        // The SSE GET goes through eventSourceInit's fetch: it needs the headers too.
        eventSourceInit: {
          fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
        },
      }),
    );
  }
  return new NodeStreamableHttpClientTransport(url, headers, network.agents, credential);
}

/** A stdio server's stderr, read (an unread pipe would eventually block the process) and logged line by line. */
export function logStderr(
  logger: Logger,
  server: McpServerRecord,
  stderr: Stream | null | undefined,
  secrets: readonly string[],
): void {
  stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim())
        logger.debug({
          msg: 'upstream stderr',
          server: server.serverName,
          line: redactSecrets(server, line.slice(0, 2000), secrets),
        });
  });
}

/** How a stdio server is started: its command, arguments and environment; its stderr read by the gateway. */
function stdioParams(server: McpServerRecord) {
  return {
    command: server.command ?? '',
    args: server.args,
    env: { ...getDefaultEnvironment(), ...server.secrets.env },
    stderr: 'pipe' as const,
  };
}

/** A client transport of SDK v2, for the 2026-07-28 revision (modern-upstreams.ts). */
export type ModernTransport = ModernStreamableHttp | ModernStdio;

/**
 * A 2026-07-28 transport to the server (Streamable HTTP, or stdio), not yet started: the same headers, network
 * rules and credential as createUpstreamTransport; SDK v2's own HTTP transport adds the standard `Mcp-Method`,
 * `Mcp-Name` and `Mcp-Param-*` headers.
 */
export function createModernTransport(
  server: McpServerRecord,
  extraHeaders: Record<string, string>,
  network: UpstreamNetwork,
  credential?: UpstreamCredential,
): ModernTransport {
  if (server.transport === 'stdio') return inSentOrder(new ModernStdio(stdioParams(server)));
  const headers = forwardableHeaders({ ...upstreamHeaders(server), ...extraHeaders });
  const fetch = credential ? fetchWithCredential(network.fetch, credential) : network.fetch;
  return new ModernStreamableHttp(new URL(dialUrl(server)), { requestInit: { headers }, fetch });
}

/**
 * The SDK's JSON Schema validator, built on first use. Every SDK Client and Server builds an Ajv instance up
 * front (0.3 to 1 ms of CPU each); the gateway makes one Server per client session and one Client per
 * upstream session, and most never validate anything (output schemas, elicitation forms). Not shared between
 * instances: Ajv keeps every schema it compiled, so one instance per Client/Server lets them go together.
 */
export class LazyJsonSchemaValidator implements jsonSchemaValidator {
  private inner?: AjvJsonSchemaValidator;

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    this.inner ??= new AjvJsonSchemaValidator();
    return this.inner.getValidator<T>(schema);
  }
}

/** A client for one upstream; `capabilities` are those of the downstream client it acts for (if any). */
export function newUpstreamClient(capabilities: ClientCapabilities = {}): Client {
  return new Client(
    { name: packageInfo().name, version: packageInfo().version },
    { capabilities, jsonSchemaValidator: new LazyJsonSchemaValidator() },
  );
}
