/**
 * Which headers may be sent to an upstream on a server's or a caller's behalf (issue 15, item 4): only
 * end-to-end ones. Hop-by-hop and framing headers, `host`, the MCP protocol's own (`mcp-*`) and the gateway's
 * key header belong to the gateway's own connection; a value with CR, LF or NUL is never written.
 */
const RESERVED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'accept',
  'last-event-id',
  'x-litellm-api-key',
]);

/** Why a header may not be forwarded upstream, or null when it may. */
export function reservedHeaderReason(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower.startsWith('mcp-')) return 'MCP protocol headers are set by the gateway';
  if (RESERVED.has(lower)) return 'hop-by-hop, framing and gateway headers are set by the gateway';
  return null;
}

/** A header value that cannot be written as is (it would split the request or be refused by Node). */
export const unsafeHeaderValue = (value: string): boolean => /[\r\n\0]/.test(value);

/** The headers that may go upstream, from any source; the others are left out. */
export function forwardableHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (reservedHeaderReason(name) === null && !unsafeHeaderValue(value)) out[name] = value;
  return out;
}
