import type { McpServerRecord } from './mcp-server.types.js';

/** The headers an HTTP/SSE upstream gets from its stored credential and static headers. */
export function upstreamHeaders(
  server: Pick<McpServerRecord, 'authType'> & {
    secrets: Pick<McpServerRecord['secrets'], 'authValue' | 'staticHeaders'>;
  },
): Record<string, string> {
  const headers: Record<string, string> = { ...server.secrets.staticHeaders };
  const value = server.secrets.authValue;
  if (!value) return headers;
  switch (server.authType) {
    case 'bearer_token':
    case 'oauth2':
      // oauth2 with a fixed token (LiteLLM); client credentials get theirs from the grant instead.
      headers.Authorization = `Bearer ${value}`;
      break;
    case 'api_key':
      headers['X-API-Key'] = value;
      break;
    case 'basic':
      // `user:password` is encoded here; a value without ":" is taken as already encoded.
      headers.Authorization = `Basic ${value.includes(':') ? Buffer.from(value).toString('base64') : value}`;
      break;
    case 'authorization':
      headers.Authorization = value;
      break;
    case 'token':
      headers.Authorization = `token ${value}`;
      break;
    case 'none':
      break;
  }
  return headers;
}
