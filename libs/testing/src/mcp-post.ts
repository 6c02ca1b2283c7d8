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
