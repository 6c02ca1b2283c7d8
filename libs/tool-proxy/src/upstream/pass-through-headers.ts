import type { IncomingHttpHeaders } from 'node:http';
import { forwardableHeaders, type McpServerRecord, upstreamHeaders } from '@app/mcp-registry';

/**
 * Headers of the client's request that belong to an upstream: its `extra_headers`, `x-mcp-{alias}-*`,
 * `x-mcp-auth`; only end-to-end ones.
 */
export function passThroughHeaders(
  server: McpServerRecord,
  headers: IncomingHttpHeaders,
): Record<string, string> {
  const out: Record<string, string> = {};
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  for (const name of server.extraHeaders) {
    const value = first(headers[name.toLowerCase()]);
    if (value !== undefined && !['authorization', 'x-litellm-api-key'].includes(name.toLowerCase()))
      out[name] = value;
  }
  const auth = first(headers['x-mcp-auth']);
  if (auth)
    Object.assign(
      out,
      upstreamHeaders({
        authType: server.authType === 'none' ? 'authorization' : server.authType,
        secrets: { authValue: auth, staticHeaders: {} },
      }),
    );
  const prefix = `x-mcp-${server.alias.toLowerCase()}-`;
  for (const [name, value] of Object.entries(headers)) {
    const v = first(value);
    if (name.startsWith(prefix) && name.length > prefix.length && v !== undefined)
      out[name.slice(prefix.length)] = v;
  }
  // Hop-by-hop, framing, host, mcp-* and the gateway's key never go upstream, nor a value with a line break.
  return forwardableHeaders(out);
}
