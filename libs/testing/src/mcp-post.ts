/** The body of an `initialize` request (2025-11-25, no capabilities). */
export function initializeRequest(clientName: string, id: number | string = 1) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: clientName, version: '1' },
    },
  };
}

/**
 * One raw Streamable HTTP POST to an MCP endpoint, as a client sends it (Accept, Content-Type, the key, and the
 * session id with the protocol version when given): for tests that look at statuses and headers.
 */
export function mcpPost(url: string, key: string, body: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-11-25' } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** A JSON-RPC reply as a test reads it. */
export interface RpcReply {
  result?: {
    resultType?: string;
    inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
    requestState?: string;
    content?: { type: string; text: string }[];
  };
  error?: { code: number; message: string; data?: { reason?: string } };
}

let modernId = 0;

/**
 * One raw 2026-07-28 request (the envelope in `_meta`, the standard headers), as the conformance suite sends it,
 * and its reply (a JSON body, or the last event of an SSE one).
 */
export async function modernRequest(
  url: string,
  key: string,
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = { elicitation: {}, sampling: {}, roots: {} },
): Promise<{ status: number; body: RpcReply }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': method,
      ...(typeof params.name === 'string' ? { 'Mcp-Name': params.name } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: ++modernId,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': capabilities,
        },
      },
    }),
  });
  const text = await res.text();
  const json = text.startsWith('{')
    ? text
    : (text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .pop()
        ?.slice(5) ?? 'null');
  return { status: res.status, body: JSON.parse(json) as RpcReply };
}
