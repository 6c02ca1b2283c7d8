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
  error?: { code: number; message: string; data?: { reason?: string; [field: string]: unknown } };
}

let modernId = 0;

/** A JSON-RPC message of a 2026 reply stream, as a test reads it (a notification or the reply). */
export interface RpcMessage extends RpcReply {
  method?: string;
  params?: Record<string, unknown>;
}

/**
 * One raw 2026-07-28 request (the envelope in `_meta` beside the caller's own `_meta`, the standard headers), as
 * the conformance suite sends it, and every message of its reply in order (one JSON body, or the events of an
 * SSE one: notifications, then the reply).
 */
export async function modernMessages(
  url: string,
  key: string,
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = { elicitation: {}, sampling: {}, roots: {} },
): Promise<{ status: number; messages: RpcMessage[] }> {
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
          ...(params._meta as Record<string, unknown> | undefined),
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': capabilities,
        },
      },
    }),
  });
  const text = await res.text();
  const messages = text.startsWith('{')
    ? [text]
    : text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5))
        .filter((data) => data.trim());
  return { status: res.status, messages: messages.map((json) => JSON.parse(json) as RpcMessage) };
}

/** One raw 2026-07-28 request and its reply (the last message of the answer; `null` when there was none). */
export async function modernRequest(
  url: string,
  key: string,
  method: string,
  params: Record<string, unknown>,
  capabilities?: Record<string, unknown>,
): Promise<{ status: number; body: RpcReply }> {
  const { status, messages } = await modernMessages(url, key, method, params, capabilities);
  return { status, body: (messages.at(-1) ?? null) as RpcReply };
}
